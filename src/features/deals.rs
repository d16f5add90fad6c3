//! Deal features for win-probability models: what was known about an open
//! deal on a day (its stage, age, pushes, amount changes, the owner's
//! trailing win rate, the account's history), built only from snapshots
//! and outcomes dated on or before that day.
//!
//! Training examples are one row per deal per month end it was open on;
//! the label is the deal's outcome, usable only once the outcome is known
//! (an example whose deal closed after the training day is censored, not
//! counted as lost).

use std::collections::HashMap;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{MonthIdx, SalesData, month_end};
use crate::domain::OpportunityStatus;

/// Products with their own column; rarer ones share "other".
const MAX_PRODUCTS: usize = 12;
/// Trailing window for win rates and cycle lengths.
const TRAILING_DAYS: i64 = 365;
/// Closed deals of prior weight when a rep's win rate is shrunk towards
/// the team's.
const PRIOR_CLOSED: f64 = 8.0;

/// How a deal ended, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The first day it was recorded closed.
    pub day: NaiveDate,
    /// Whether it was won.
    pub won: bool,
}

/// Each deal's outcome, when it has closed in the data (the first closed
/// snapshot decides).
pub fn outcomes(data: &SalesData) -> Vec<Option<Outcome>> {
    (0..data.opps.len())
        .map(|o| {
            data.snapshots(o as u32)
                .iter()
                .find(|s| s.status != OpportunityStatus::Open)
                .map(|s| Outcome {
                    day: s.as_of,
                    won: s.status == OpportunityStatus::Won,
                })
        })
        .collect()
}

/// What was known about one open deal on a day.
#[derive(Debug, Clone, Copy)]
pub struct DealState {
    /// Index into [`SalesData::opps`].
    pub opp: u32,
    /// Owner.
    pub rep: u32,
    /// Stage index.
    pub stage: u16,
    /// Amount in currency units.
    pub amount: f64,
    /// Amount when first recorded.
    pub first_amount: f64,
    /// Expected close day.
    pub close: Option<NaiveDate>,
    /// Days since creation.
    pub age_days: i64,
    /// Days since the stage last changed (or since creation).
    pub days_in_stage: i64,
    /// Times the expected close date moved later.
    pub pushes: u32,
    /// Days the expected close date moved in total.
    pub push_days: i64,
    /// Times the deal went back to a stage it had left.
    pub regressions: u32,
    /// The last time the close date moved later, if it ever did.
    pub last_push: Option<NaiveDate>,
    /// The expected close day before the last push.
    pub close_before_push: Option<NaiveDate>,
}

/// The deal's state on `day`, when it was open then.
pub fn deal_state(data: &SalesData, opp: u32, day: NaiveDate) -> Option<DealState> {
    let facts = &data.opps[opp as usize];
    if facts.created > day {
        return None;
    }
    let snaps = data.snapshots(opp);
    let known = snaps.partition_point(|s| s.as_of <= day);
    let last = *snaps[..known].last()?;
    if last.status != OpportunityStatus::Open {
        return None;
    }
    let mut pushes = 0;
    let mut push_days = 0;
    let mut regressions = 0;
    let mut stage_since = snaps[0].as_of;
    let mut last_push = None;
    let mut close_before_push = None;
    let mut seen: u64 = 1u64 << (snaps[0].stage % 64);
    for w in snaps[..known].windows(2) {
        if let (Some(a), Some(b)) = (w[0].close, w[1].close) {
            if b > a {
                pushes += 1;
                push_days += (b - a).num_days();
                last_push = Some(w[1].as_of);
                close_before_push = Some(a);
            }
        }
        if w[1].stage != w[0].stage {
            stage_since = w[1].as_of;
            let bit = 1u64 << (w[1].stage % 64);
            if seen & bit != 0 {
                regressions += 1;
            }
            seen |= bit;
        }
    }
    Some(DealState {
        opp,
        rep: facts.rep,
        stage: last.stage,
        amount: last.cents as f64 / 100.0,
        first_amount: snaps[0].cents as f64 / 100.0,
        close: last.close,
        age_days: (day - facts.created).num_days(),
        days_in_stage: (day - stage_since.max(facts.created)).num_days(),
        pushes,
        push_days,
        regressions,
        last_push,
        close_before_push,
    })
}

/// Every deal open on `day`, in deal order.
pub fn open_states(data: &SalesData, day: NaiveDate) -> Vec<DealState> {
    (0..data.opps.len() as u32)
        .into_par_iter()
        .filter_map(|o| deal_state(data, o, day))
        .collect()
}

/// Closed deals per rep and per account, for trailing rates as of any day.
#[derive(Debug, Clone)]
pub struct Track {
    /// Per rep: (close day, won, cycle days), sorted by day.
    rep_closes: Vec<Vec<(NaiveDate, bool, i64)>>,
    /// Every win: (day, cycle days), sorted by day.
    wins: Vec<(NaiveDate, i64)>,
    /// Per account: (close day, won), sorted.
    accounts: HashMap<u32, Vec<(NaiveDate, bool)>>,
}

impl Track {
    /// Indexes the closed deals.
    pub fn build(data: &SalesData, outcomes: &[Option<Outcome>]) -> Track {
        let mut rep_closes = vec![Vec::new(); data.reps.len()];
        let mut wins = Vec::new();
        let mut accounts: HashMap<u32, Vec<(NaiveDate, bool)>> = HashMap::new();
        for (o, outcome) in outcomes.iter().enumerate() {
            let Some(out) = outcome else { continue };
            let facts = &data.opps[o];
            let cycle = (out.day - facts.created).num_days();
            rep_closes[facts.rep as usize].push((out.day, out.won, cycle));
            if out.won {
                wins.push((out.day, cycle));
            }
            if let Some(a) = facts.account {
                accounts.entry(a).or_default().push((out.day, out.won));
            }
        }
        for v in &mut rep_closes {
            v.sort_unstable_by_key(|c| c.0);
        }
        wins.sort_unstable();
        for v in accounts.values_mut() {
            v.sort_unstable();
        }
        Track {
            rep_closes,
            wins,
            accounts,
        }
    }

    /// A rep's closed deals on days `from..=to`: (won, closed).
    pub fn rep_record(&self, rep: u32, from: NaiveDate, to: NaiveDate) -> (u32, u32) {
        let closes = &self.rep_closes[rep as usize];
        let lo = closes.partition_point(|c| c.0 < from);
        let hi = closes.partition_point(|c| c.0 <= to);
        let won = closes[lo..hi].iter().filter(|c| c.1).count() as u32;
        (won, (hi - lo) as u32)
    }

    /// A rep's won deals on days `from..=to`, with their cycle lengths.
    pub fn rep_win_cycles(&self, rep: u32, from: NaiveDate, to: NaiveDate) -> Vec<i64> {
        let closes = &self.rep_closes[rep as usize];
        let lo = closes.partition_point(|c| c.0 < from);
        let hi = closes.partition_point(|c| c.0 <= to);
        closes[lo..hi].iter().filter(|c| c.1).map(|c| c.2).collect()
    }

    /// Median days from creation to win over wins on days `from..=to`.
    pub fn median_cycle(&self, from: NaiveDate, to: NaiveDate) -> Option<f64> {
        let lo = self.wins.partition_point(|w| w.0 < from);
        let hi = self.wins.partition_point(|w| w.0 <= to);
        let mut cycles: Vec<i64> = self.wins[lo..hi].iter().map(|w| w.1).collect();
        median(&mut cycles)
    }

    /// An account's earlier closed deals before `day`: (won, closed).
    pub fn account_record(&self, account: u32, day: NaiveDate) -> (u32, u32) {
        self.accounts.get(&account).map_or((0, 0), |v| {
            let hi = v.partition_point(|c| c.0 < day);
            (v[..hi].iter().filter(|c| c.1).count() as u32, hi as u32)
        })
    }
}

/// Median of whole-day counts.
pub fn median(values: &mut [i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2] as f64
    } else {
        (values[n / 2 - 1] + values[n / 2]) as f64 / 2.0
    })
}

/// Column layout of deal rows, kept with a trained model so a later data
/// set (whose stage and product indices differ) builds the same columns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DealSpec {
    /// Open stages with their own column, by name.
    pub stages: Vec<String>,
    /// Products with their own column, by name (others share one).
    pub products: Vec<String>,
}

/// A group of columns that explains as one driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// Current stage.
    Stage,
    /// Deal size.
    Amount,
    /// Amount changes since creation.
    AmountChange,
    /// Age, absolute and against the usual won cycle.
    Age,
    /// Days since the last stage change.
    StageAge,
    /// Close-date pushes.
    Pushes,
    /// Days to (or past) the expected close date.
    CloseDate,
    /// Where the day sits in the fiscal quarter.
    QuarterPosition,
    /// The owner's trailing win rate.
    RepWinRate,
    /// Product.
    Product,
    /// The account's earlier deals.
    Account,
    /// Going back to an earlier stage.
    Regressions,
}

impl Factor {
    /// The name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Stage => "stage",
            Factor::Amount => "amount",
            Factor::AmountChange => "amount_change",
            Factor::Age => "age",
            Factor::StageAge => "days_in_stage",
            Factor::Pushes => "close_date_pushes",
            Factor::CloseDate => "days_to_close",
            Factor::QuarterPosition => "quarter_position",
            Factor::RepWinRate => "rep_win_rate",
            Factor::Product => "product",
            Factor::Account => "account_history",
            Factor::Regressions => "stage_regressions",
        }
    }
}

/// Numeric columns after the stage and product one-hots, with the factor
/// each belongs to.
const NUMERIC: [(&str, Factor); 16] = [
    ("log_amount", Factor::Amount),
    ("log_amount_change", Factor::AmountChange),
    ("log_age", Factor::Age),
    ("age_over_median_cycle", Factor::Age),
    ("log_days_in_stage", Factor::StageAge),
    ("pushes", Factor::Pushes),
    ("log_push_days", Factor::Pushes),
    ("months_to_close", Factor::CloseDate),
    ("overdue", Factor::CloseDate),
    ("quarter_elapsed", Factor::QuarterPosition),
    ("closes_this_quarter", Factor::QuarterPosition),
    ("rep_win_rate", Factor::RepWinRate),
    ("rep_log_closed", Factor::RepWinRate),
    ("account_log_wins", Factor::Account),
    ("account_log_closed", Factor::Account),
    ("regressions", Factor::Regressions),
];

impl DealSpec {
    /// The layout for a data set as of `as_of`: the stages deals were open
    /// in and the most common products, both from what was recorded by
    /// then, in name order (so the same history gives the same layout).
    pub fn for_data(data: &SalesData, as_of: NaiveDate) -> DealSpec {
        let mut open_stage = vec![false; data.stages.len()];
        for s in &data.snaps {
            if s.status == OpportunityStatus::Open && s.as_of <= as_of {
                open_stage[s.stage as usize] = true;
            }
        }
        let mut stages: Vec<String> = data
            .stages
            .iter()
            .zip(&open_stage)
            .filter(|(_, open)| **open)
            .map(|(name, _)| name.clone())
            .collect();
        stages.sort();
        let mut counts = vec![0usize; data.products.len()];
        for o in &data.opps {
            if let (Some(p), true) = (o.product, o.created <= as_of) {
                counts[p as usize] += 1;
            }
        }
        let mut order: Vec<usize> = (0..counts.len()).filter(|&p| counts[p] > 0).collect();
        order.sort_by_key(|&p| (std::cmp::Reverse(counts[p]), data.products[p].clone()));
        let mut products: Vec<String> = order
            .into_iter()
            .take(MAX_PRODUCTS)
            .map(|p| data.products[p].clone())
            .collect();
        products.sort();
        DealSpec { stages, products }
    }

    /// Number of columns.
    pub fn width(&self) -> usize {
        self.stages.len() + self.products.len() + 1 + NUMERIC.len()
    }

    /// The factor of every column.
    pub fn factors(&self) -> Vec<Factor> {
        let mut out = vec![Factor::Stage; self.stages.len()];
        out.extend(std::iter::repeat_n(
            Factor::Product,
            self.products.len() + 1,
        ));
        out.extend(NUMERIC.iter().map(|(_, f)| *f));
        out
    }

    /// Index of the first numeric column.
    pub fn numeric_start(&self) -> usize {
        self.stages.len() + self.products.len() + 1
    }
}

/// The team-wide facts of one day that every deal's row uses.
#[derive(Debug, Clone)]
pub struct DayContext {
    /// The day.
    pub day: NaiveDate,
    /// Median days from creation to win over the trailing year.
    pub median_cycle: f64,
    /// Per rep: trailing-year win rate shrunk towards the team's, and the
    /// number of deals it rests on.
    pub rep_rate: Vec<(f64, u32)>,
    /// The team's trailing-year win rate.
    pub team_rate: f64,
    /// Share of the fiscal quarter elapsed.
    pub quarter_elapsed: f64,
    /// Last day of the fiscal quarter.
    pub quarter_end: NaiveDate,
}

impl DayContext {
    /// The context of `day`, from deals closed on or before it.
    pub fn at(data: &SalesData, track: &Track, day: NaiveDate) -> DayContext {
        let from = day - chrono::Duration::days(TRAILING_DAYS);
        let records: Vec<(u32, u32)> = (0..data.reps.len() as u32)
            .map(|r| track.rep_record(r, from, day))
            .collect();
        let (won, closed) = records.iter().fold((0u64, 0u64), |acc, r| {
            (acc.0 + r.0 as u64, acc.1 + r.1 as u64)
        });
        let team_rate = if closed > 0 {
            won as f64 / closed as f64
        } else {
            0.3
        };
        let rep_rate = records
            .iter()
            .map(|&(w, c)| {
                (
                    (w as f64 + PRIOR_CLOSED * team_rate) / (c as f64 + PRIOR_CLOSED),
                    c,
                )
            })
            .collect();
        let median_cycle = track.median_cycle(from, day).unwrap_or(60.0).max(1.0);
        let q = data.fiscal.quarter_of(day);
        let (qs, qe) = (data.fiscal.start(q), data.fiscal.end(q));
        let quarter_elapsed =
            (day - qs).num_days() as f64 / ((qe - qs).num_days() as f64 + 1.0).max(1.0);
        DayContext {
            day,
            median_cycle,
            rep_rate,
            team_rate,
            quarter_elapsed,
            quarter_end: qe,
        }
    }
}

/// Builds rows in a [`DealSpec`]'s layout for one data set.
#[derive(Debug, Clone)]
pub struct RowBuilder<'a> {
    data: &'a SalesData,
    track: &'a Track,
    spec: &'a DealSpec,
    stage_col: Vec<Option<usize>>,
    product_col: Vec<Option<usize>>,
}

impl<'a> RowBuilder<'a> {
    /// Maps the data set's stage and product indices to the spec's columns.
    pub fn new(data: &'a SalesData, track: &'a Track, spec: &'a DealSpec) -> RowBuilder<'a> {
        let stage_col = data
            .stages
            .iter()
            .map(|s| spec.stages.iter().position(|x| x == s))
            .collect();
        let product_col = data
            .products
            .iter()
            .map(|p| spec.products.iter().position(|x| x == p))
            .collect();
        RowBuilder {
            data,
            track,
            spec,
            stage_col,
            product_col,
        }
    }

    /// Writes the row of `state` on `ctx.day` into `out` (`spec.width()`
    /// long, zeroed by the caller).
    pub fn fill(&self, state: &DealState, ctx: &DayContext, out: &mut [f64]) {
        let spec = self.spec;
        if let Some(c) = self.stage_col[state.stage as usize] {
            out[c] = 1.0;
        }
        let facts = &self.data.opps[state.opp as usize];
        let product = facts
            .product
            .and_then(|p| self.product_col[p as usize])
            .unwrap_or(spec.products.len());
        out[spec.stages.len() + product] = 1.0;
        let day = ctx.day;
        let (rate, closed) = ctx.rep_rate[state.rep as usize];
        let (acc_won, acc_closed) = facts
            .account
            .map_or((0, 0), |a| self.track.account_record(a, day));
        let to_close = state.close.map_or(0, |c| (c - day).num_days());
        let values = [
            state.amount.max(0.0).ln_1p(),
            ((state.amount.max(1.0)) / state.first_amount.max(1.0))
                .ln()
                .clamp(-3.0, 3.0),
            (state.age_days.max(0) as f64).ln_1p(),
            (state.age_days.max(0) as f64 / ctx.median_cycle).min(6.0),
            (state.days_in_stage.max(0) as f64).ln_1p(),
            f64::from(state.pushes.min(8)),
            (state.push_days.max(0) as f64).ln_1p(),
            (to_close as f64 / 30.0).clamp(-6.0, 12.0),
            if to_close < 0 { 1.0 } else { 0.0 },
            ctx.quarter_elapsed,
            if state.close.is_some_and(|c| c <= ctx.quarter_end) {
                1.0
            } else {
                0.0
            },
            rate,
            f64::from(closed).ln_1p(),
            f64::from(acc_won).ln_1p(),
            f64::from(acc_closed).ln_1p(),
            f64::from(state.regressions.min(5)),
        ];
        out[spec.numeric_start()..].copy_from_slice(&values);
    }
}

/// Training examples: one row per deal per month end it was open on.
#[derive(Debug, Clone, Default)]
pub struct Examples {
    /// Columns per row.
    pub width: usize,
    /// Row-major features.
    pub x: Vec<f64>,
    /// Won (the deal's eventual outcome).
    pub won: Vec<bool>,
    /// The day each row describes.
    pub day: Vec<NaiveDate>,
    /// The day each row's outcome became known.
    pub resolved: Vec<NaiveDate>,
    /// The stage index of each row (for the stage-only baseline).
    pub stage: Vec<u16>,
}

impl Examples {
    /// Rows.
    pub fn len(&self) -> usize {
        self.won.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.won.is_empty()
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.width..(i + 1) * self.width]
    }

    /// Indices of the rows describing days in `from..=to` whose outcome was
    /// known by `known_by`.
    pub fn select(&self, from: NaiveDate, to: NaiveDate, known_by: NaiveDate) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.day[i] >= from && self.day[i] <= to && self.resolved[i] <= known_by)
            .collect()
    }

    /// Builds the examples of month ends in `months` whose deal closed by
    /// `known_by`, keeping about `max_rows` (whole deals are sampled, with
    /// a fixed hash, so the choice is reproducible).
    pub fn build(
        data: &SalesData,
        track: &Track,
        spec: &DealSpec,
        outcomes: &[Option<Outcome>],
        months: std::ops::RangeInclusive<MonthIdx>,
        known_by: NaiveDate,
        max_rows: usize,
    ) -> Examples {
        let builder = RowBuilder::new(data, track, spec);
        let days: Vec<NaiveDate> = months.map(month_end).filter(|d| *d <= known_by).collect();
        let (Some(&first_day), Some(&last_day)) = (days.first(), days.last()) else {
            return Examples {
                width: spec.width(),
                ..Examples::default()
            };
        };
        let contexts: Vec<DayContext> = days
            .par_iter()
            .map(|&d| DayContext::at(data, track, d))
            .collect();
        // Rows each deal would give, to sample deals down to `max_rows`.
        let spans: Vec<(u32, usize, usize)> = (0..data.opps.len())
            .filter_map(|o| {
                let out = outcomes[o]?;
                if out.day > known_by {
                    return None;
                }
                let created = data.opps[o].created;
                if out.day <= first_day || created > last_day {
                    return None;
                }
                let lo = days.partition_point(|d| *d < created);
                let hi = days.partition_point(|d| *d < out.day);
                (hi > lo).then_some((o as u32, lo, hi))
            })
            .collect();
        let total: usize = spans.iter().map(|s| s.2 - s.1).sum();
        let keep = if total > max_rows {
            max_rows as f64 / total as f64
        } else {
            1.0
        };
        let width = spec.width();
        let parts: Vec<Examples> = spans
            .par_chunks(4096)
            .map(|chunk| {
                let mut part = Examples {
                    width,
                    ..Examples::default()
                };
                for &(o, lo, hi) in chunk {
                    if keep < 1.0 && unit_hash(&data.opps[o as usize].id) >= keep {
                        continue;
                    }
                    let Some(out) = outcomes[o as usize] else {
                        continue;
                    };
                    for (d, ctx) in days[lo..hi].iter().zip(&contexts[lo..hi]) {
                        let Some(state) = deal_state(data, o, *d) else {
                            continue;
                        };
                        let start = part.x.len();
                        part.x.resize(start + width, 0.0);
                        builder.fill(&state, ctx, &mut part.x[start..]);
                        part.won.push(out.won);
                        part.day.push(*d);
                        part.resolved.push(out.day);
                        part.stage.push(state.stage);
                    }
                }
                part
            })
            .collect();
        let mut all = Examples {
            width,
            ..Examples::default()
        };
        for p in parts {
            all.x.extend(p.x);
            all.won.extend(p.won);
            all.day.extend(p.day);
            all.resolved.extend(p.resolved);
            all.stage.extend(p.stage);
        }
        all
    }
}

/// A deal id mapped to [0, 1) by a fixed mix (FNV-1a, then SplitMix64's
/// finaliser), so the same deals are sampled whatever else is stored.
fn unit_hash(id: &str) -> f64 {
    let mut z: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        z = (z ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}
