//! The coaching-priority list: for a period, every rep with a quota ranked
//! by priority = P(miss quota) x expected shortfall, both read from the
//! forecast engine's sample paths of the rep's period bookings (booked to
//! date included). Each rep carries the reasons a manager would act on,
//! each with its money impact and the deals behind it:
//!
//! | code | triggered when | impact |
//! |---|---|---|
//! | `coverage_gap` | open deals expected by the period end, weighted by win probability, cover less than the quota still to book minus the business expected from outside today's pipeline | that need − weighted pipeline |
//! | `win_rate_drop` | win rate over the last 90 days is 8+ points under the four quarters before | drop × open amount expected in the period |
//! | `slipped_deals` | deals pushed in the last 45 days from inside the period to after it | their expected value (p_win × amount) |
//! | `stale_deals` | deals expected in the period without a stage change in `stale_days` | their expected value |
//! | `pipeline_creation_down` | amount created in the last 90 days is under 70% of the prior year's 90-day average | the shortfall in creation × the rep's win rate |
//! | `renewals_down` | bookings not from a deal (renewals, expansion) over the last 180 days are under 75% of the rep's own monthly rate over the one to two years before | the monthly drop × the months left in the period |
//! | `cycle_length_up` | median days to win over the last 180 days is 20%+ above the year before | expected value of period deals that would need a shorter cycle than that |
//! | `ramping_hire` | under six months in seat | the part of the expected shortfall, at most the quota still to book |
//! | `no_deals` | the rep has no deal in the data at all (listed after every rep who has) | none |
//!
//! Each rep also carries a [`Decline`] figure (see [`trend`]): how strongly
//! their renewals and deals won fell against their own past. With
//! [`RankBy::Decline`] the list is ranked by it instead, for the manager
//! whose question is "who has fallen off?" rather than "who will miss this
//! quarter?".

pub mod trend;

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use crate::domain::{Money, Period};
use crate::features::deals::{DealState, Track, median};
use crate::features::{Hierarchy, Level, SalesData, booked_between};
use crate::forecast::PeriodPaths;
use crate::scoring::drivers::amount_words;
use trend::{DAYS_PER_MONTH, Decline, History, RENEWALS_RECENT_DAYS, RenewalsChange};

/// Days without a stage change that make a deal stale.
pub const STALE_DAYS: i64 = 30;
/// Evidence deal ids listed per reason at most.
const MAX_EVIDENCE: usize = 10;
/// Months in seat under which a rep is still ramping.
const RAMP_MONTHS: i64 = 6;
/// Share of their own earlier rate under which a rep's bookings from
/// outside the pipeline count as down.
const RENEWALS_DOWN: f64 = 0.75;

/// One reason a rep is at risk.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Reason {
    /// Machine-readable code (see the module table).
    pub code: String,
    /// The reason in words, with its figures.
    pub message: String,
    /// Money at stake.
    pub impact: Money,
    /// Deal ids behind it.
    pub evidence: Vec<String>,
}

/// One rep on the list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RepRisk {
    /// Rep.
    pub rep_id: String,
    /// Name.
    pub name: String,
    /// Their manager.
    pub manager_id: Option<String>,
    /// P(miss) x expected shortfall.
    pub priority: Money,
    /// Share of sample paths below quota.
    pub p_miss_quota: f64,
    /// Mean of max(0, quota − bookings) over the paths.
    pub expected_shortfall: Money,
    /// The period's quota.
    pub quota: Money,
    /// Booked in the period up to the as-of day.
    pub booked_to_date: Money,
    /// Median of the period's bookings over the paths.
    pub forecast_p50: Money,
    /// Open deals expected in the period over the quota still to book
    /// (absent when nothing remains to book or there are no deals).
    pub coverage: Option<f64>,
    /// Win rate of the last 90 days minus that of the four quarters
    /// before (absent with fewer than 3 recent or 6 earlier closes).
    pub win_rate_change: Option<f64>,
    /// How far the rep's business fell against their own past (absent
    /// without a year of history before the last year).
    pub decline: Option<Decline>,
    /// Reasons, largest impact first.
    pub reasons: Vec<Reason>,
    /// The rep has never had a deal in the data: nothing to judge them on,
    /// so they are listed after everyone who has (with the reason
    /// `no_deals`), not ranked by a shortfall that is only the quota.
    pub never_had_a_deal: bool,
}

/// What the list is ranked by.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    serde::Deserialize,
    clap::ValueEnum,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RankBy {
    /// P(miss quota) x expected shortfall: the money at risk this period.
    #[default]
    Priority,
    /// The evidence that the rep's business fell against their own past
    /// (renewals and deals won) plus their P(miss quota) for the period
    /// (`decline.urgency`), highest first; reps without enough history
    /// follow by priority.
    Decline,
}

impl RankBy {
    /// Its name in the CLI, the API and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RankBy::Priority => "priority",
            RankBy::Decline => "decline",
        }
    }
}

/// Orders `reps` by `by`, ties by P(miss) and then rep id.
pub fn sort_reps(reps: &mut [RepRisk], by: RankBy) {
    let priority = |a: &RepRisk, b: &RepRisk| {
        b.priority
            .cmp(&a.priority)
            .then(b.p_miss_quota.total_cmp(&a.p_miss_quota))
            .then_with(|| a.rep_id.cmp(&b.rep_id))
    };
    // Reps with no deal at all come last, among themselves by priority.
    let priority = |a: &RepRisk, b: &RepRisk| {
        a.never_had_a_deal
            .cmp(&b.never_had_a_deal)
            .then_with(|| priority(a, b))
    };
    match by {
        RankBy::Priority => reps.sort_by(priority),
        RankBy::Decline => reps.sort_by(|a, b| match (&a.decline, &b.decline) {
            (Some(x), Some(y)) => y.urgency.total_cmp(&x.urgency).then_with(|| priority(a, b)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => priority(a, b),
        }),
    }
}

/// The figures a rep's position on the coaching quadrant comes from.
#[derive(Debug, Clone, Copy, Default)]
struct Gauges {
    coverage: Option<f64>,
    win_rate_change: Option<f64>,
}

/// The list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CoachList {
    /// The manager whose reps these are (all reps when absent).
    pub manager_id: Option<String>,
    /// Month or quarter.
    pub period: String,
    /// As-of day.
    pub as_of: NaiveDate,
    /// Forecast model version the paths come from.
    pub model_version: String,
    /// What `reps` is ranked by.
    pub ranked_by: RankBy,
    /// Ranked, highest first.
    pub reps: Vec<RepRisk>,
}

/// What a rep's risk is computed from.
pub struct Inputs<'a> {
    /// The data.
    pub data: &'a SalesData,
    /// Its hierarchy.
    pub hierarchy: &'a Hierarchy,
    /// Closed-deal index.
    pub track: &'a Track,
    /// Deals open on the as-of day.
    pub open: &'a [DealState],
    /// Their win probabilities.
    pub p_win: &'a [f64],
    /// The period's sample paths.
    pub paths: &'a PeriodPaths,
    /// As-of day.
    pub as_of: NaiveDate,
    /// Days without a stage change that make a deal stale.
    pub stale_days: i64,
    /// Per rep: business expected in the rest of the period that is not in
    /// today's pipeline (renewals, deals not yet created), from the
    /// forecast's pipeline model; zero without one.
    pub other_expected: &'a [f64],
}

fn money(x: f64) -> Money {
    Money::from_cents((x * 100.0).round() as i64)
}

fn ids(data: &SalesData, deals: &[(&DealState, f64)]) -> Vec<String> {
    let mut sorted: Vec<&(&DealState, f64)> = deals.iter().collect();
    sorted.sort_by(|a, b| (b.0.amount * b.1).total_cmp(&(a.0.amount * a.1)));
    sorted
        .iter()
        .take(MAX_EVIDENCE)
        .map(|(d, _)| data.opps[d.opp as usize].id.clone())
        .collect()
}

/// Over sample paths of a period's bookings: the share below `quota`, and
/// the mean of max(0, quota − bookings).
pub fn miss_and_shortfall(paths: &[f32], quota: f64) -> (f64, f64) {
    let n = paths.len().max(1) as f64;
    let miss = paths.iter().filter(|&&v| f64::from(v) < quota).count() as f64 / n;
    let shortfall = paths
        .iter()
        .map(|&v| (quota - f64::from(v)).max(0.0))
        .sum::<f64>()
        / n;
    (miss, shortfall)
}

/// Reps under `manager` (transitively), or every rep.
pub fn reps_under(hierarchy: &Hierarchy, manager: Option<&str>) -> Vec<bool> {
    let Some(m) = manager else {
        return vec![true; hierarchy.reps()];
    };
    let entity = hierarchy
        .entities
        .iter()
        .position(|e| e.level == Level::Manager && e.id == m);
    (0..hierarchy.reps())
        .map(|r| {
            hierarchy.entities[r].id != m
                && entity.is_some_and(|e| hierarchy.rep_to_entities[r].contains(&(e as u32)))
        })
        .collect()
}

/// Ranks the reps selected by `include` for `period`.
pub fn rank(inputs: &Inputs<'_>, period: Period, include: &[bool], by: RankBy) -> Vec<RepRisk> {
    let data = inputs.data;
    let fiscal = data.fiscal;
    let (start, end) = (fiscal.start(period), fiscal.end(period));
    let booked = booked_between(data, start, inputs.as_of);
    let history = History::new(data, inputs.as_of);
    let renewals = history.renewals();
    let decline = history.declines();
    let mut by_rep: HashMap<u32, Vec<(&DealState, f64)>> = HashMap::new();
    for (d, p) in inputs.open.iter().zip(inputs.p_win) {
        by_rep.entry(d.rep).or_default().push((d, *p));
    }
    let mut own: Vec<Vec<u32>> = vec![Vec::new(); data.reps.len()];
    for (o, f) in data.opps.iter().enumerate() {
        own[f.rep as usize].push(o as u32);
    }
    let empty = Vec::new();
    let mut out = Vec::new();
    for r in 0..data.reps.len() {
        if !include[r] || !data.in_seat(r as u32, inputs.as_of) {
            continue;
        }
        let quota = data.quota_between(r as u32, start, end);
        if quota <= 0.0 {
            continue;
        }
        let paths = inputs.paths.rep(r);
        let (miss, shortfall) = miss_and_shortfall(paths, quota);
        let mut sorted: Vec<f32> = paths.to_vec();
        sorted.sort_by(f32::total_cmp);
        let p50 = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
        let deals = by_rep.get(&(r as u32)).unwrap_or(&empty);
        let (reasons, gauges) = reasons(
            inputs,
            r as u32,
            &own[r],
            deals,
            quota,
            booked[r],
            shortfall,
            renewals[r],
            start,
            end,
        );
        let rep = &data.reps[r];
        let p_miss = (miss * 1000.0).round() / 1000.0;
        let never_had_a_deal = own[r].is_empty();
        let mut reasons = reasons;
        if never_had_a_deal {
            reasons.insert(
                0,
                Reason {
                    code: "no_deals".into(),
                    message: "no deal in the data yet: nothing to judge on, so listed after \
                              reps with deals"
                        .into(),
                    impact: Money::ZERO,
                    evidence: Vec::new(),
                },
            );
        }
        out.push(RepRisk {
            rep_id: rep.rep_id.to_string(),
            name: rep.name.clone(),
            manager_id: rep.manager_id.as_ref().map(|m| m.to_string()),
            priority: money(miss * shortfall),
            p_miss_quota: p_miss,
            expected_shortfall: money(shortfall),
            quota: money(quota),
            booked_to_date: money(booked[r]),
            forecast_p50: money(f64::from(p50)),
            coverage: gauges.coverage.map(|c| (c * 1000.0).round() / 1000.0),
            win_rate_change: gauges
                .win_rate_change
                .map(|c| (c * 1000.0).round() / 1000.0),
            decline: decline[r].map(|d| d.at_risk(p_miss)),
            reasons,
            never_had_a_deal,
        });
    }
    sort_reps(&mut out, by);
    out
}

#[allow(clippy::too_many_arguments)]
fn reasons(
    inputs: &Inputs<'_>,
    rep: u32,
    own: &[u32],
    deals: &[(&DealState, f64)],
    quota: f64,
    booked: f64,
    shortfall: f64,
    renewals: Option<RenewalsChange>,
    start: NaiveDate,
    end: NaiveDate,
) -> (Vec<Reason>, Gauges) {
    let data = inputs.data;
    let mut gauges = Gauges::default();
    let day = inputs.as_of;
    let track = inputs.track;
    let mut out = Vec::new();
    // Deals expected in the period; overdue ones count in the period that
    // is running now, as CRMs show them.
    let current = start <= day + Duration::days(1);
    let in_period: Vec<(&DealState, f64)> = deals
        .iter()
        .filter(|(d, _)| {
            d.close
                .is_some_and(|c| c <= end && (c >= start || (current && c <= day)))
        })
        .copied()
        .collect();
    let open_amount: f64 = in_period.iter().map(|(d, _)| d.amount).sum();
    let weighted: f64 = in_period.iter().map(|(d, p)| d.amount * p).sum();
    let remaining = (quota - booked).max(0.0);
    if !data.opps.is_empty() && remaining > 0.0 {
        gauges.coverage = Some(open_amount / remaining);
    }

    let other = inputs
        .other_expected
        .get(rep as usize)
        .copied()
        .unwrap_or(0.0);
    let need = remaining - other;
    // Without any deals stored (bookings only) there is no pipeline to
    // measure coverage by.
    if !data.opps.is_empty() && need > 0.0 && weighted < need {
        let beside = if other > 0.0 {
            // Renewals are named only where the data has bookings without
            // a deal behind them.
            let from = if data.unlinked_bookings {
                "renewals and deals not yet created"
            } else {
                "deals not yet created"
            };
            format!(
                "about {} more is expected from {from}, so {} must come from ",
                amount_words(other),
                amount_words(need)
            )
        } else {
            String::new()
        };
        out.push(Reason {
            code: "coverage_gap".into(),
            message: format!(
                "{} still to book against a {} quota; {beside}open deals expected by {end}: they \
                 total {} ({:.1}x coverage), {} weighted by win probability",
                amount_words(remaining),
                amount_words(quota),
                amount_words(open_amount),
                0.0 + open_amount / need,
                amount_words(weighted)
            ),
            impact: money(need - weighted),
            evidence: ids(data, &in_period),
        });
    }

    // Win rate: last 90 days against the four quarters before.
    let recent_from = day - Duration::days(89);
    let (rw, rc) = track.rep_record(rep, recent_from, day);
    let (tw, tc) = track.rep_record(
        rep,
        recent_from - Duration::days(365),
        recent_from - Duration::days(1),
    );
    if rc >= 3 && tc >= 6 {
        let recent = f64::from(rw) / f64::from(rc);
        let trailing = f64::from(tw) / f64::from(tc);
        let drop = trailing - recent;
        gauges.win_rate_change = Some(recent - trailing);
        if drop >= 0.08 {
            let lost: Vec<String> = own
                .iter()
                .filter(|&&o| {
                    data.snapshots(o).iter().any(|s| {
                        s.status == crate::domain::OpportunityStatus::Lost
                            && s.as_of >= recent_from
                            && s.as_of <= day
                    })
                })
                .map(|&o| data.opps[o as usize].id.clone())
                .take(MAX_EVIDENCE)
                .collect();
            out.push(Reason {
                code: "win_rate_drop".into(),
                message: format!(
                    "won {rw} of {rc} deals closed in the last 90 days ({:.0}%) against {tw} of {tc} \
                     ({:.0}%) in the four quarters before; at that drop the {} expected by {end} \
                     loses {}",
                    100.0 * recent,
                    100.0 * trailing,
                    amount_words(open_amount),
                    amount_words(drop * open_amount)
                ),
                impact: money(drop * open_amount),
                evidence: lost,
            });
        }
    }

    // Slipped: pushed recently from inside the period to after it.
    let slip_from = day - Duration::days(45);
    let slipped: Vec<(&DealState, f64)> = deals
        .iter()
        .filter(|(d, _)| {
            d.last_push.is_some_and(|p| p >= slip_from)
                && d.close_before_push.is_some_and(|c| c <= end && c >= start)
                && d.close.is_some_and(|c| c > end)
        })
        .copied()
        .collect();
    if !slipped.is_empty() {
        let value: f64 = slipped.iter().map(|(d, p)| d.amount * p).sum();
        let amount: f64 = slipped.iter().map(|(d, _)| d.amount).sum();
        out.push(Reason {
            code: "slipped_deals".into(),
            message: format!(
                "{} ({}) pushed out of the period in the last 45 days, {} expected value",
                plural(slipped.len(), "deal", "deals"),
                amount_words(amount),
                amount_words(value)
            ),
            impact: money(value),
            evidence: ids(data, &slipped),
        });
    }

    let stale: Vec<(&DealState, f64)> = in_period
        .iter()
        .filter(|(d, _)| d.days_in_stage >= inputs.stale_days)
        .copied()
        .collect();
    if !stale.is_empty() {
        let value: f64 = stale.iter().map(|(d, p)| d.amount * p).sum();
        let oldest = stale
            .iter()
            .map(|(d, _)| d.days_in_stage)
            .max()
            .unwrap_or(0);
        out.push(Reason {
            code: "stale_deals".into(),
            message: format!(
                "{} expected by {end} without a stage change in {}+ days (longest {oldest} days); \
                 {} expected value rests on them",
                plural(stale.len(), "deal", "deals"),
                inputs.stale_days,
                amount_words(value)
            ),
            impact: money(value),
            evidence: ids(data, &stale),
        });
    }

    // New pipeline: last 90 days against the year before, per 90 days.
    let (mut recent_created, mut prior_created) = (0.0, 0.0);
    let prior_from = recent_from - Duration::days(360);
    for &o in own {
        let f = &data.opps[o as usize];
        if f.created > day || f.created < prior_from {
            continue;
        }
        let first = data.snapshots(o).first();
        let amount = first.map_or(0.0, |s| s.cents as f64 / 100.0);
        if f.created >= recent_from {
            recent_created += amount;
        } else {
            prior_created += amount;
        }
    }
    let prior_avg = prior_created / 4.0;
    let seated_long = data.reps[rep as usize]
        .hire_date
        .is_none_or(|h| h <= prior_from);
    if seated_long && prior_avg > 0.0 && recent_created < 0.7 * prior_avg {
        let (tw, tc) = track.rep_record(rep, day - Duration::days(365), day);
        let rate = if tc > 0 {
            f64::from(tw) / f64::from(tc)
        } else {
            0.0
        };
        let impact = (prior_avg - recent_created) * rate;
        out.push(Reason {
            code: "pipeline_creation_down".into(),
            message: format!(
                "created {} of new pipeline in the last 90 days against {} per 90 days over the \
                 year before ({:.0}% less); at a {:.0}% win rate that is {} of bookings",
                amount_words(recent_created),
                amount_words(prior_avg),
                100.0 * (1.0 - recent_created / prior_avg),
                100.0 * rate,
                amount_words(impact)
            ),
            impact: money(impact),
            evidence: Vec::new(),
        });
    }

    if let Some(change) = renewals.filter(|c| c.recent < RENEWALS_DOWN * c.before) {
        // The part of the period still ahead of the day.
        let from = day.max(start - Duration::days(1));
        let months_left = (end - from).num_days().max(0) as f64 / DAYS_PER_MONTH;
        let impact = (change.before - change.recent) * months_left;
        out.push(Reason {
            code: "renewals_down".into(),
            message: format!(
                "booked {} a month from renewals and other business not from a deal over the \
                 last {RENEWALS_RECENT_DAYS} days against {} a month over the {:.0} months \
                 before ({:.0}% less); at that rate the {:.1} months to {end} bring {} less",
                amount_words(change.recent),
                amount_words(change.before),
                change.before_months,
                100.0 * (1.0 - change.recent / change.before),
                months_left,
                amount_words(impact)
            ),
            impact: money(impact),
            evidence: Vec::new(),
        });
    }

    // Cycle length: wins of the last 180 days against the year before.
    let cycle_from = day - Duration::days(179);
    let mut recent_cycles = track.rep_win_cycles(rep, cycle_from, day);
    let mut prior_cycles = track.rep_win_cycles(
        rep,
        cycle_from - Duration::days(365),
        cycle_from - Duration::days(1),
    );
    if recent_cycles.len() >= 3 && prior_cycles.len() >= 4 {
        let recent = median(&mut recent_cycles).unwrap_or(0.0);
        let prior = median(&mut prior_cycles).unwrap_or(0.0);
        if prior > 0.0 && recent >= 1.2 * prior {
            let at_risk: Vec<(&DealState, f64)> = in_period
                .iter()
                .filter(|(d, _)| {
                    d.close.is_some_and(|c| {
                        ((c - day).num_days() + d.age_days) < recent.round() as i64
                    })
                })
                .copied()
                .collect();
            let value: f64 = at_risk.iter().map(|(d, p)| d.amount * p).sum();
            out.push(Reason {
                code: "cycle_length_up".into(),
                message: format!(
                    "median days to win rose to {recent:.0} over the last 180 days from {prior:.0} \
                     the year before; {} expected by {end} would need a shorter cycle ({} \
                     expected value)",
                    plural(at_risk.len(), "deal", "deals"),
                    amount_words(value)
                ),
                impact: money(value),
                evidence: ids(data, &at_risk),
            });
        }
    }

    if let Some(hired) = data.reps[rep as usize].hire_date {
        let months = (day - hired).num_days() / 30;
        if months < RAMP_MONTHS {
            let impact = shortfall.min(remaining);
            out.push(Reason {
                code: "ramping_hire".into(),
                message: format!(
                    "hired {hired}, {} in seat; new reps take about {RAMP_MONTHS} months to \
                     reach full productivity",
                    plural(months.max(0) as usize, "month", "months")
                ),
                impact: money(impact),
                evidence: Vec::new(),
            });
        }
    }
    out.sort_by(|a, b| b.impact.cmp(&a.impact).then_with(|| a.code.cmp(&b.code)));
    (out, gauges)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn risk(id: &str, priority: i64, never_had_a_deal: bool) -> RepRisk {
        RepRisk {
            rep_id: id.into(),
            name: id.into(),
            manager_id: None,
            priority: Money::from_cents(priority * 100),
            p_miss_quota: 0.5,
            expected_shortfall: Money::ZERO,
            quota: Money::ZERO,
            booked_to_date: Money::ZERO,
            forecast_p50: Money::ZERO,
            coverage: None,
            win_rate_change: None,
            decline: None,
            reasons: Vec::new(),
            never_had_a_deal,
        }
    }

    #[test]
    fn reps_without_any_deal_come_after_everyone_else() {
        for by in [RankBy::Priority, RankBy::Decline] {
            let mut reps = vec![
                risk("new-a", 90_000, true),
                risk("r1", 10_000, false),
                risk("new-b", 95_000, true),
                risk("r2", 20_000, false),
            ];
            sort_reps(&mut reps, by);
            let order: Vec<&str> = reps.iter().map(|r| r.rep_id.as_str()).collect();
            assert_eq!(order, ["r2", "r1", "new-b", "new-a"], "{by:?}");
        }
    }
}
