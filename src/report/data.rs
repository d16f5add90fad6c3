//! From library results to the numbers of a chart. Pure functions: the
//! caller has already cut every input to what its reader may see.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use super::{
    Attainment, Backtest, BacktestLine, Band, Body, Chart, ChartKind, Fan, PayoutRange, Payouts,
    Quadrant, QuadrantPoint, Reliability, ReliabilityPoint, ReportError, Step, Waterfall,
    short_amount,
};
use crate::calls::changes::Changes;
use crate::coaching::CoachList;
use crate::commission::project::Payout;
use crate::domain::{Money, Period};
use crate::features::{
    Hierarchy, Level, MonthIdx, MonthlyBookings, SalesData, booked_between, month_idx, month_period,
};
use crate::forecast::{ForecastRow, TrainedModel};
use crate::scoring::ScoringModel;

/// Months of history the fan chart shows before the forecast.
pub const FAN_HISTORY_MONTHS: i32 = 24;
/// Entities the payout chart shows at most (largest mean first).
pub const MAX_PAYOUT_ROWS: usize = 25;
/// Baselines drawn beside attain on the backtest chart.
pub const BACKTEST_BASELINES: [&str; 3] = ["seasonal_naive", "naive", "trailing_mean"];

/// Which stored forecast run a chart comes from.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Stored run number.
    pub run_id: i64,
    /// Its as-of day.
    pub as_of: NaiveDate,
    /// Model version.
    pub model_version: String,
}

pub use crate::features::entity_label;
use crate::features::person_label as person;

/// The index of an entity, or a parameter error naming it.
pub fn entity_index(hierarchy: &Hierarchy, level: Level, id: &str) -> Result<usize, ReportError> {
    hierarchy
        .entities
        .iter()
        .position(|e| e.level == level && e.id == id)
        .ok_or_else(|| ReportError::Param(format!("no {level} {id:?} in the data")))
}

/// Which reps count towards entity `e`.
pub fn reps_in(hierarchy: &Hierarchy, e: usize) -> Vec<bool> {
    hierarchy
        .rep_to_entities
        .iter()
        .map(|es| es.contains(&(e as u32)))
        .collect()
}

fn is_month(period: &str) -> bool {
    !period.contains('Q')
}

fn amount(m: Money) -> f64 {
    m.cents() as f64 / 100.0
}

/// Forecast fan of one entity: up to two years of monthly bookings, the
/// forecast months of `rows` (that entity's lines of one run) as P10-P90
/// and P50, and the entity's monthly quota.
pub fn fan(
    data: &SalesData,
    hierarchy: &Hierarchy,
    run: &RunInfo,
    level: Level,
    id: &str,
    rows: &[&ForecastRow],
) -> Result<Chart, ReportError> {
    let e = entity_index(hierarchy, level, id)?;
    let members = reps_in(hierarchy, e);
    let mut months: Vec<(MonthIdx, Band)> = rows
        .iter()
        .filter(|r| r.level == level && r.id == id && is_month(&r.period))
        .filter_map(|r| {
            Period::parse(&r.period).ok().map(|p| {
                (
                    month_idx(data.fiscal.start(p)),
                    Band {
                        p10: amount(r.p10),
                        p50: amount(r.p50),
                        p90: amount(r.p90),
                        mean: amount(r.mean),
                    },
                )
            })
        })
        .collect();
    months.sort_by_key(|m| m.0);
    let label = entity_label(data, level, id);
    let Some(first) = months.first().map(|m| m.0) else {
        return Err(ReportError::NoData(format!(
            "forecast run {} has no monthly lines for {label}",
            run.run_id
        )));
    };
    let from = (first - FAN_HISTORY_MONTHS).max(data.first_month);
    let monthly = MonthlyBookings::build(data, first - 1);
    let history: Vec<f64> = (from..first)
        .map(|m| {
            (0..data.reps.len())
                .filter(|&r| members[r])
                .map(|r| monthly.get(r as u32, m))
                .sum()
        })
        .collect();
    let last = months.last().map_or(first, |m| m.0);
    let all: Vec<MonthIdx> = (from..=last).collect();
    let quota: Vec<Option<f64>> = all
        .iter()
        .map(|&m| {
            let cents: Option<i64> = (0..data.reps.len())
                .filter(|&r| members[r])
                .filter_map(|r| data.monthly_quota.get(&(r as u32, m)).copied())
                .reduce(|a, b| a + b);
            cents.map(|c| c as f64 / 100.0)
        })
        .collect();
    // Forecast months are contiguous; a gap would misplace the band.
    let forecast: Vec<Band> = all
        .iter()
        .filter(|m| **m >= first)
        .map(|m| {
            months.iter().find(|x| x.0 == *m).map_or(
                Band {
                    p10: 0.0,
                    p50: 0.0,
                    p90: 0.0,
                    mean: 0.0,
                },
                |x| x.1,
            )
        })
        .collect();
    let next_quarter: f64 = forecast.iter().take(3).map(|b| b.mean).sum();
    // Say when the band rests on the series' own variability rather than
    // the models' measured errors.
    let lines = rows
        .iter()
        .copied()
        .filter(|r| r.level == level && r.id == id && is_month(&r.period));
    let thin = crate::forecast::engine::thin_range_months(lines)
        .map(|n| format!("; band from {n} months' variability, not yet backtested"))
        .unwrap_or_default();
    Ok(Chart {
        kind: ChartKind::Forecast,
        title: format!("Bookings forecast, {label}"),
        subtitle: format!(
            "as of {} (run {}, model {}); next three months' mean {}{thin}",
            run.as_of,
            run.run_id,
            run.model_version,
            short_amount(next_quarter)
        ),
        body: Body::Fan(Fan {
            months: all.iter().map(|m| month_period(*m).to_string()).collect(),
            history,
            forecast,
            quota,
        }),
    })
}

/// One-month-ahead backtest forecasts of the company against what was
/// booked, attain beside the baselines, from a trained model's trace.
pub fn backtest(model: &TrainedModel) -> Result<Chart, ReportError> {
    if model.trace.is_empty() {
        return Err(ReportError::NoData(format!(
            "model {} has no backtest trace (it was trained before attain recorded one): \
             train again",
            model.version
        )));
    }
    let months: Vec<String> = model
        .trace
        .iter()
        .map(|t| t.month.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let at: HashMap<&str, usize> = months
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let mut actual = vec![0.0; months.len()];
    let mut band = vec![None; months.len()];
    let mut lines: BTreeMap<&str, Vec<Option<f64>>> = BTreeMap::new();
    for t in &model.trace {
        let i = at[t.month.as_str()];
        actual[i] = t.actual;
        let wanted = t.model == "attain" || BACKTEST_BASELINES.contains(&t.model.as_str());
        if !wanted {
            continue;
        }
        lines
            .entry(t.model.as_str())
            .or_insert_with(|| vec![None; months.len()])[i] = Some(t.forecast);
        if t.model == "attain" {
            band[i] = t.p10.zip(t.p90);
        }
    }
    let ordered: Vec<BacktestLine> = std::iter::once("attain")
        .chain(BACKTEST_BASELINES)
        .filter_map(|m| {
            lines.get(m).map(|v| BacktestLine {
                model: m.to_owned(),
                values: v.clone(),
            })
        })
        .collect();
    let mase = |name: &str| {
        model
            .metrics
            .iter()
            .find(|r| r.level == Level::Company && r.horizon == 1 && r.model == name)
            .and_then(|r| r.mase)
    };
    let baseline = model.comparator.replace('_', " ");
    let score = match (mase("attain"), mase(&model.comparator)) {
        (Some(a), Some(s)) => {
            format!("; company MASE at 1 month: attain {a:.2}, {baseline} {s:.2}")
        }
        (Some(a), None) => format!("; company MASE at 1 month: attain {a:.2}"),
        _ => String::new(),
    };
    Ok(Chart {
        kind: ChartKind::Backtest,
        title: "Backtest: forecast one month ahead vs actual, the company".to_owned(),
        subtitle: format!(
            "model {} trained as of {}, walk-forward over {} months{score}",
            model.version,
            model.as_of,
            months.len()
        ),
        body: Body::Backtest(Backtest {
            months,
            actual,
            band,
            lines: ordered,
        }),
    })
}

/// Quota attainment of the reps in `include` for `period`: booked over
/// quota once the period is over on `as_of`; before that, the forecast
/// mean of the period (booked to date included) from `rep_means` (rep id
/// -> mean of that period's rep line), or booked to date where a rep has
/// no line.
pub fn attainment(
    data: &SalesData,
    include: &[bool],
    team: &str,
    period: Period,
    as_of: NaiveDate,
    rep_means: &HashMap<String, f64>,
) -> Result<Chart, ReportError> {
    let (start, end) = (data.fiscal.start(period), data.fiscal.end(period));
    if start > as_of {
        return Err(ReportError::Param(format!(
            "{period} starts after the as-of day {as_of}: attainment needs a period under way or over"
        )));
    }
    let projected = end > as_of;
    let upto = end.min(as_of);
    let booked = booked_between(data, start, upto);
    let mut ratios = Vec::new();
    for (r, rep) in data.reps.iter().enumerate() {
        if !include.get(r).copied().unwrap_or(false) || !data.in_seat(r as u32, upto) {
            continue;
        }
        let quota = data.quota_between(r as u32, start, end);
        if quota <= 0.0 {
            continue;
        }
        let value = if projected {
            rep_means
                .get(rep.rep_id.as_str())
                .copied()
                .unwrap_or(booked[r])
        } else {
            booked[r]
        };
        ratios.push(value / quota);
    }
    if ratios.is_empty() {
        return Err(ReportError::NoData(format!(
            "no rep of {team} has a quota for {period}"
        )));
    }
    let at_or_above = ratios.iter().filter(|r| **r >= 1.0).count();
    let mut sorted = ratios.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    Ok(Chart {
        kind: ChartKind::Attainment,
        title: format!("Quota attainment, {team}, {period}"),
        subtitle: format!(
            "as of {as_of}{}; {} reps, {at_or_above} ({:.0}%) at or above quota, median {:.0}%",
            if projected {
                " (period under way: booked + forecast mean)"
            } else {
                ""
            },
            ratios.len(),
            100.0 * at_or_above as f64 / ratios.len() as f64,
            100.0 * median
        ),
        body: Body::Attainment(Attainment { ratios, projected }),
    })
}

/// The coaching quadrant of a coaching list (already cut to the reader's
/// reach): reps with a coverage figure.
pub fn quadrant(list: &CoachList, team: &str) -> Result<Chart, ReportError> {
    let points: Vec<QuadrantPoint> = list
        .reps
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            r.coverage.map(|coverage| QuadrantPoint {
                label: r.name.clone(),
                coverage,
                win_rate_change: 100.0 * r.win_rate_change.unwrap_or(0.0),
                measured: r.win_rate_change.is_some(),
                shortfall: amount(r.expected_shortfall),
                rank: i + 1,
            })
        })
        .collect();
    if points.is_empty() {
        return Err(ReportError::NoData(format!(
            "no rep in scope ({team}) has quota left to book in {} with deals to measure coverage by",
            list.period
        )));
    }
    let shortfall: f64 = list.reps.iter().map(|r| amount(r.expected_shortfall)).sum();
    Ok(Chart {
        kind: ChartKind::Coaching,
        title: format!("Coaching quadrant, {team}, {}", list.period),
        subtitle: format!(
            "as of {} (model {}); {} reps, expected shortfall {} in all; the first {} of the \
             list are named",
            list.as_of,
            list.model_version,
            points.len(),
            short_amount(shortfall),
            super::draw::LABELLED
        ),
        body: Body::Quadrant(Quadrant { points }),
    })
}

/// The waterfall of what changed: the open pipeline expected in the
/// period on the first day, each kind of move (the rare "moved in" and
/// "moved out" only when they happened), the pipeline on the last day, and
/// beside the two levels the model's forecast (P50 with P10-P90) and the
/// call of the entity's person as they stood on each day.
pub fn waterfall(changes: &Changes) -> Result<Chart, ReportError> {
    let (from, to, period) = (changes.from, changes.to, &changes.period);
    if changes.opening_deals == 0 && changes.closing_deals == 0 {
        return Err(ReportError::NoData(format!(
            "{} had no open deals expected in {period} on {from} or on {to}",
            changes.label
        )));
    }
    let steps = changes
        .steps
        .iter()
        .filter(|s| s.kind.always_shown() || s.deal_count > 0)
        .map(|s| Step {
            label: s.kind.label().to_owned(),
            amount: s.amount,
            deals: s.deal_count,
        })
        .collect();
    let level = |label: String, amount: Money, deals: usize| Step {
        label,
        amount,
        deals,
    };
    let forecast = [changes.forecast.from, changes.forecast.to].map(|p| p.map(|p| p.range));
    let calls = [&changes.calls.from, &changes.calls.to].map(|c| c.as_ref().map(|c| c.commit));
    let mut subtitle = format!(
        "open deals expected to close in {period}, {from} -> {to}; bars name the deals moved"
    );
    if let (Some(a), Some(b)) = (forecast[0], forecast[1]) {
        subtitle.push_str(&format!(
            "; forecast P50 {} -> {}",
            short_amount(amount(a.p50)),
            short_amount(amount(b.p50))
        ));
    }
    Ok(Chart {
        kind: ChartKind::Waterfall,
        title: format!("What changed, {}, {period}", changes.label),
        subtitle,
        body: Body::Waterfall(Waterfall {
            opening: level(format!("{from}"), changes.opening, changes.opening_deals),
            steps,
            closing: level(format!("{to}"), changes.closing, changes.closing_deals),
            forecast,
            calls,
        }),
    })
}

/// Payout ranges of a projection's lines (already cut to the reader's
/// reach), largest mean first.
pub fn payouts(
    data: &SalesData,
    lines: &[Payout],
    period: &str,
    as_of: NaiveDate,
    model_version: &str,
    whose: &str,
) -> Result<Chart, ReportError> {
    let mut sorted: Vec<&Payout> = lines.iter().collect();
    if sorted.is_empty() {
        return Err(ReportError::NoData(format!(
            "no payouts of {whose} for {period}: nobody there is on a comp plan"
        )));
    }
    sorted.sort_by(|a, b| b.mean.cmp(&a.mean).then_with(|| a.id.cmp(&b.id)));
    let total_mean: f64 = sorted.iter().map(|p| amount(p.mean)).sum();
    let total_earned: f64 = sorted.iter().map(|p| amount(p.earned_to_date)).sum();
    let ranges = sorted
        .iter()
        .take(MAX_PAYOUT_ROWS)
        .map(|p| PayoutRange {
            label: match p.level {
                Level::Rep | Level::Manager => person(data, &p.id),
                other => entity_label(data, other, &p.id),
            },
            earned: amount(p.earned_to_date),
            p10: amount(p.p10),
            p50: amount(p.p50),
            p90: amount(p.p90),
            mean: amount(p.mean),
        })
        .collect();
    let more = sorted.len().saturating_sub(MAX_PAYOUT_ROWS);
    Ok(Chart {
        kind: ChartKind::Payouts,
        title: format!("Commission payouts, {whose}, {period}"),
        subtitle: format!(
            "as of {as_of} (model {model_version}); earned to date {}, mean projected {} over {} \
             lines{}",
            short_amount(total_earned),
            short_amount(total_mean),
            sorted.len(),
            if more > 0 {
                format!(" ({more} smaller not shown)")
            } else {
                String::new()
            }
        ),
        body: Body::Payouts(Payouts { ranges, more }),
    })
}

/// The reliability diagram of a win-probability model on its holdout.
pub fn calibration(model: &ScoringModel, version: &str) -> Result<Chart, ReportError> {
    let bins: Vec<ReliabilityPoint> = model
        .report
        .reliability
        .iter()
        .filter(|b| b.n > 0)
        .map(|b| ReliabilityPoint {
            predicted: b.predicted,
            observed: b.observed,
            n: b.n,
        })
        .collect();
    if bins.is_empty() {
        return Err(ReportError::NoData(format!(
            "the win-probability model of {version} has no holdout deals to draw"
        )));
    }
    let chosen = model.kind.as_str();
    let metric = |name: &str| model.report.holdout.iter().find(|m| m.model == name);
    let figures = match (metric(chosen), metric("stage_only")) {
        (Some(m), Some(s)) => format!(
            "; ECE {:.3}, AUC {:.3} (stage-only baseline AUC {:.3}) on {} deals",
            m.ece, m.auc, s.auc, m.n
        ),
        (Some(m), None) => format!("; ECE {:.3}, AUC {:.3} on {} deals", m.ece, m.auc, m.n),
        _ => String::new(),
    };
    let window = model
        .report
        .windows
        .get("holdout")
        .map(|w| format!(", holdout {w}"))
        .unwrap_or_default();
    Ok(Chart {
        kind: ChartKind::Calibration,
        title: "Win-probability calibration (reliability diagram)".to_owned(),
        subtitle: format!(
            "model {version} ({chosen}, trained as of {}){window}{figures}",
            model.as_of
        ),
        body: Body::Reliability(Reliability { bins }),
    })
}
