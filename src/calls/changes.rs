//! What changed between two days for a period: the open pipeline's moves
//! (each with its deals and money, adding up from opening to closing to the
//! cent), the model's forecast of the same entity from the runs stored on
//! those days, and the calls' change.

use chrono::NaiveDate;
use serde::Serialize;

use super::{ModelRange, latest_as_of};
use crate::domain::{Call, Money, OpportunityStatus, Period};
use crate::features::{Level, SalesData};

/// One kind of move of the open pipeline expected in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Created after the first day, open in the period on the last.
    New,
    /// Expected in a later period on the first day, in this one on the last.
    PulledIn,
    /// Open on the first day but expected in an earlier period or with no
    /// close day; in this one on the last.
    MovedIn,
    /// Amount raised.
    Raised,
    /// Amount cut.
    Cut,
    /// Won between the two days.
    Won,
    /// Lost between the two days.
    Lost,
    /// Pushed to a later period (or its close day cleared).
    Slipped,
    /// Moved to an earlier period.
    MovedOut,
}

impl ChangeKind {
    /// Every kind, in the order the steps are listed and drawn.
    pub const ALL: [ChangeKind; 9] = [
        ChangeKind::New,
        ChangeKind::PulledIn,
        ChangeKind::MovedIn,
        ChangeKind::Raised,
        ChangeKind::Cut,
        ChangeKind::Won,
        ChangeKind::Lost,
        ChangeKind::Slipped,
        ChangeKind::MovedOut,
    ];

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::New => "new",
            ChangeKind::PulledIn => "pulled_in",
            ChangeKind::MovedIn => "moved_in",
            ChangeKind::Raised => "raised",
            ChangeKind::Cut => "cut",
            ChangeKind::Won => "won",
            ChangeKind::Lost => "lost",
            ChangeKind::Slipped => "slipped",
            ChangeKind::MovedOut => "moved_out",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::New => "new",
            ChangeKind::PulledIn => "pulled in",
            ChangeKind::MovedIn => "moved in",
            ChangeKind::Raised => "raised",
            ChangeKind::Cut => "cut",
            ChangeKind::Won => "won",
            ChangeKind::Lost => "lost",
            ChangeKind::Slipped => "slipped",
            ChangeKind::MovedOut => "moved out",
        }
    }

    /// Whether the step is drawn and listed even when nothing moved that
    /// way (the two rare kinds are shown only when they happened).
    pub fn always_shown(self) -> bool {
        !matches!(self, ChangeKind::MovedIn | ChangeKind::MovedOut)
    }
}

/// One step: its signed money and the deals behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChangeStep {
    /// What moved.
    pub kind: ChangeKind,
    /// Signed change of the open pipeline expected in the period.
    pub amount: Money,
    /// How many deals.
    pub deal_count: usize,
    /// Their ids, largest move first.
    pub deals: Vec<String>,
}

/// The open pipeline expected in a period on two days and every move
/// between them: `opening` plus the steps' amounts is `closing` exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PipelineMoves {
    /// Open deals expected in the period on the first day.
    pub opening: Money,
    /// How many.
    pub opening_deals: usize,
    /// Every kind of move, in [`ChangeKind::ALL`]'s order.
    pub steps: Vec<ChangeStep>,
    /// Open deals expected in the period on the last day.
    pub closing: Money,
    /// How many.
    pub closing_deals: usize,
}

/// One deal's state on a day: status, close day, amount in cents.
type State = (OpportunityStatus, Option<NaiveDate>, i64);

fn state_on(data: &SalesData, opp: u32, day: NaiveDate) -> Option<State> {
    let snaps = data.snapshots(opp);
    let known = snaps.partition_point(|s| s.as_of <= day);
    known
        .checked_sub(1)
        .map(|i| (snaps[i].status, snaps[i].close, snaps[i].cents))
}

/// The moves of the open pipeline of the reps in `include` expected to
/// close in `period`, between the ends of `from` and `to` (`from` < `to`).
/// A deal in the period on both days that changed amount is raised or
/// cut; one that left is won, lost, slipped or moved out by its state on
/// `to`; one that arrived is new, pulled in or moved in by its state on
/// `from`; one that arrived and closed in between shows in both its
/// arrival and its close (which cancel).
pub fn pipeline_moves(
    data: &SalesData,
    include: &[bool],
    period: Period,
    from: NaiveDate,
    to: NaiveDate,
) -> PipelineMoves {
    let (start, end) = (data.fiscal.start(period), data.fiscal.end(period));
    let in_period = |s: &Option<State>| match s {
        Some((OpportunityStatus::Open, Some(c), cents)) if *c >= start && *c <= end => Some(*cents),
        _ => None,
    };
    let mut moved: Vec<Vec<(i64, u32)>> = vec![Vec::new(); ChangeKind::ALL.len()];
    let (mut opening, mut closing) = ((0i64, 0usize), (0i64, 0usize));
    for (o, facts) in data.opps.iter().enumerate() {
        if !include.get(facts.rep as usize).copied().unwrap_or(false) || facts.created > to {
            continue;
        }
        let o = o as u32;
        let before = state_on(data, o, from);
        let after = state_on(data, o, to);
        let kind = match (in_period(&before), in_period(&after)) {
            // Came in and closed between the two days (a deal created, or
            // pulled into the period, and won or lost by the last day):
            // both moves are shown, and they cancel.
            (None, None) => {
                let closed = match after {
                    Some((
                        s @ (OpportunityStatus::Won | OpportunityStatus::Lost),
                        Some(c),
                        cents,
                    )) if c > from && c >= start && c <= end => (s, cents),
                    _ => continue,
                };
                let entry = match before {
                    Some((OpportunityStatus::Open, Some(c), _)) if c > end => ChangeKind::PulledIn,
                    Some((OpportunityStatus::Open, ..)) => ChangeKind::MovedIn,
                    None => ChangeKind::New,
                    Some(_) => continue,
                };
                let exit = if closed.0 == OpportunityStatus::Won {
                    ChangeKind::Won
                } else {
                    ChangeKind::Lost
                };
                moved[entry as usize].push((closed.1, o));
                (exit, -closed.1)
            }
            (Some(a), Some(b)) => {
                opening = (opening.0 + a, opening.1 + 1);
                closing = (closing.0 + b, closing.1 + 1);
                match b - a {
                    0 => continue,
                    d if d > 0 => (ChangeKind::Raised, d),
                    d => (ChangeKind::Cut, d),
                }
            }
            (Some(a), None) => {
                opening = (opening.0 + a, opening.1 + 1);
                let kind = match after {
                    Some((OpportunityStatus::Won, ..)) => ChangeKind::Won,
                    Some((OpportunityStatus::Lost, ..)) => ChangeKind::Lost,
                    Some((_, Some(c), _)) if c < start => ChangeKind::MovedOut,
                    _ => ChangeKind::Slipped,
                };
                (kind, -a)
            }
            (None, Some(b)) => {
                closing = (closing.0 + b, closing.1 + 1);
                let kind = match before {
                    Some((OpportunityStatus::Open, Some(c), _)) if c > end => ChangeKind::PulledIn,
                    Some((OpportunityStatus::Open, ..)) => ChangeKind::MovedIn,
                    _ => ChangeKind::New,
                };
                (kind, b)
            }
        };
        let (kind, cents) = kind;
        moved[kind as usize].push((cents, o));
    }
    let steps: Vec<ChangeStep> = ChangeKind::ALL
        .iter()
        .zip(moved)
        .map(|(kind, mut deals)| {
            deals.sort_by(|a, b| {
                b.0.abs()
                    .cmp(&a.0.abs())
                    .then_with(|| data.opps[a.1 as usize].id.cmp(&data.opps[b.1 as usize].id))
            });
            ChangeStep {
                kind: *kind,
                amount: Money::from_cents(deals.iter().map(|d| d.0).sum()),
                deal_count: deals.len(),
                deals: deals
                    .iter()
                    .map(|d| data.opps[d.1 as usize].id.clone())
                    .collect(),
            }
        })
        .collect();
    debug_assert_eq!(
        opening.0 + steps.iter().map(|s| s.amount.cents()).sum::<i64>(),
        closing.0
    );
    PipelineMoves {
        opening: Money::from_cents(opening.0),
        opening_deals: opening.1,
        steps,
        closing: Money::from_cents(closing.0),
        closing_deals: closing.1,
    }
}

/// The model's forecast of the entity and period from the run stored on
/// or before a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ForecastPoint {
    /// The run.
    pub run_id: i64,
    /// Its as-of day.
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    /// Its P10, P50 and P90.
    #[serde(flatten)]
    pub range: ModelRange,
}

/// The forecast on the two days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ForecastChange {
    /// As of the first day (none when no run was stored by then).
    pub from: Option<ForecastPoint>,
    /// As of the last day.
    pub to: Option<ForecastPoint>,
    /// P50 on the last day less P50 on the first.
    pub p50_change: Option<Money>,
}

impl ForecastChange {
    /// The change between two points.
    pub fn new(from: Option<ForecastPoint>, to: Option<ForecastPoint>) -> ForecastChange {
        let p50_change = match (from, to) {
            (Some(a), Some(b)) => {
                Some(Money::from_cents(b.range.p50.cents() - a.range.p50.cents()))
            }
            _ => None,
        };
        ForecastChange {
            from,
            to,
            p50_change,
        }
    }
}

/// A call as it stood on a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CallPoint {
    /// Commit.
    pub commit: Money,
    /// Best case.
    pub best_case: Option<Money>,
    /// When it was submitted.
    pub submitted_at: String,
}

/// One person's call on the two days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CallChange {
    /// Whose call.
    pub person_id: Option<String>,
    /// Their latest call by the end of the first day.
    pub from: Option<CallPoint>,
    /// Their latest call by the end of the last day.
    pub to: Option<CallPoint>,
    /// Commit on the last day less commit on the first (a first call
    /// counts from zero).
    pub commit_change: Option<Money>,
}

/// Each person's call change between the ends of `from` and `to`, for the
/// people with a call on either day, in `people`'s order.
pub fn call_changes(
    calls: &[Call],
    people: &[&str],
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<CallChange> {
    let (before, after) = (latest_as_of(calls, from), latest_as_of(calls, to));
    let point = |c: &Call| CallPoint {
        commit: c.commit,
        best_case: c.best_case,
        submitted_at: c.submitted_at.clone(),
    };
    people
        .iter()
        .filter_map(|p| {
            let (a, b) = (before.get(p), after.get(p));
            if a.is_none() && b.is_none() {
                return None;
            }
            let commit_change =
                b.map(|b| Money::from_cents(b.commit.cents() - a.map_or(0, |a| a.commit.cents())));
            Some(CallChange {
                person_id: Some((*p).to_owned()),
                from: a.map(|c| point(c)),
                to: b.map(|c| point(c)),
                commit_change,
            })
        })
        .collect()
}

/// What changed between two days for a period and an entity.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Changes {
    /// First day.
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// Last day.
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// The period whose pipeline and forecast moved.
    pub period: String,
    /// The entity's level.
    pub level: Level,
    /// The entity's id.
    pub id: String,
    /// Who or what it is, for people.
    pub label: String,
    /// Open pipeline expected in the period on the first day.
    pub opening: Money,
    /// How many deals.
    pub opening_deals: usize,
    /// The moves, in a fixed order; they add up from opening to closing.
    pub steps: Vec<ChangeStep>,
    /// Open pipeline expected in the period on the last day.
    pub closing: Money,
    /// How many deals.
    pub closing_deals: usize,
    /// The model's forecast of the entity and period on the two days.
    pub forecast: ForecastChange,
    /// The call of the person the entity belongs to (none for a territory
    /// or region).
    pub calls: CallChange,
    /// Every call under the entity's person that stood on either day.
    pub people: Vec<CallChange>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: i64, person: &str, at: &str, commit: i64) -> Call {
        Call::commit_only(id, person, "2026-Q1", at, commit)
    }

    #[test]
    fn call_changes_take_the_latest_of_each_day() {
        let calls = [
            call(1, "a", "2026-01-05T09:00:00Z", 10_000),
            call(2, "a", "2026-01-05T17:00:00Z", 12_000),
            call(3, "a", "2026-01-12T09:00:00Z", 90_00),
            call(4, "b", "2026-01-12T09:00:00Z", 5_000),
        ];
        let day = |d| NaiveDate::from_ymd_opt(2026, 1, d).expect("a day");
        let out = call_changes(&calls, &["a", "b", "c"], day(5), day(12));
        assert_eq!(out.len(), 2, "c called on neither day");
        assert_eq!(out[0].from.as_ref().map(|c| c.commit.cents()), Some(12_000));
        assert_eq!(out[0].commit_change, Some(Money::from_cents(-3_000)));
        assert!(out[1].from.is_none());
        assert_eq!(out[1].commit_change, Some(Money::from_cents(5_000)));
    }
}
