//! How good the coaching list is: against planted ground truth (the
//! generator's `truth.csv` of declining reps), precision@k and recall; and
//! on history, the AUC of P(miss quota) made just before each past quarter
//! against who actually missed.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use super::coach::{CoachParams, coach_data, period_paths};
use crate::coaching::{RankBy, RepRisk, miss_and_shortfall, sort_reps};
use crate::domain::{DEFAULT_SEED, Paths, Period};
use crate::features::{SalesData, booked_between};
use crate::forecast::{Engine, EngineError};
use crate::jobs::JobError;
use crate::jobs::ValidTrainParams;
use crate::jobs::registry::Registry;
use crate::scoring::metrics::auc;

/// The list against planted truth.
#[derive(Debug, Clone, Serialize)]
pub struct TruthEvaluation {
    /// Period of the list.
    pub period: String,
    /// As-of day.
    pub as_of: NaiveDate,
    /// Reps on the list.
    pub listed: usize,
    /// Planted reps on the list (in seat, with a quota).
    pub planted: usize,
    /// What the list below (`precision_at_k`, `ranks`) is ranked by.
    pub ranked_by: RankBy,
    /// k = planted.
    pub k: usize,
    /// Planted reps among the top k.
    pub precision_at_k: f64,
    /// Planted reps in the top 10% of the list, over all planted.
    pub recall_top_10pct: f64,
    /// Per reason code given on the list: how often it is given to the
    /// planted reps and to the others (a reason that names a decline should
    /// be common among the first and rare among the second).
    pub reasons: Vec<ReasonShare>,
    /// Rank (1-based) of each planted rep.
    pub ranks: Vec<(String, usize)>,
    /// The same list under each ranking.
    pub rankings: Vec<RankingScore>,
}

/// The planted reps' places under one ranking.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RankingScore {
    /// The ranking.
    pub ranked_by: RankBy,
    /// Planted reps among the top k.
    pub precision_at_k: f64,
    /// Planted reps in the top 10% of the list, over all planted.
    pub recall_top_10pct: f64,
}

/// How often one reason code is given.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReasonShare {
    /// Reason code.
    pub code: String,
    /// Share of the planted reps on the list that carry it.
    pub planted: f64,
    /// Share of the other reps on the list that carry it.
    pub others: f64,
}

/// P(miss quota) on one past quarter.
#[derive(Debug, Clone, Serialize)]
pub struct QuarterEvaluation {
    /// The quarter.
    pub period: String,
    /// Forecast made as of this day (the day before the quarter).
    pub as_of: NaiveDate,
    /// Reps with a quota, in seat through the quarter.
    pub reps: usize,
    /// Of them, how many missed.
    pub missed: usize,
    /// AUC of P(miss) against missing.
    pub auc: f64,
    /// Mean P(miss) (to compare with the share that missed).
    pub mean_p_miss: f64,
}

/// Everything `attain coach --evaluate` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Against `truth.csv`, when given.
    pub truth: Option<TruthEvaluation>,
    /// Per past quarter.
    pub history: Vec<QuarterEvaluation>,
}

/// Reads the declining reps of a `truth.csv`.
pub fn read_truth(path: &Path) -> Result<HashSet<String>, JobError> {
    let bad = |why: String| EngineError::Param(format!("{}: {why}", path.display()));
    let mut reader = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
    let headers = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| bad(format!("no column {name:?}")))
    };
    let (rep, pattern) = (col("rep_id")?, col("pattern")?);
    let mut out = HashSet::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| bad(format!("row {}: {e}", i + 2)))?;
        if record.get(pattern) == Some("declining") {
            if let Some(id) = record.get(rep) {
                out.insert(id.to_owned());
            }
        }
    }
    Ok(out)
}

/// Scores the list of `params` against `planted` rep ids.
pub fn against_truth(
    data: &SalesData,
    fingerprint: &str,
    registry: &Registry,
    params: &CoachParams,
    train: ValidTrainParams,
    planted: &HashSet<String>,
) -> Result<TruthEvaluation, JobError> {
    let list = coach_data(data, fingerprint, registry, params, train)?;
    let ranks = planted_ranks(&list.reps, planted);
    let k = ranks.len();
    // Reps carrying each code, planted and others.
    let mut given: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for r in &list.reps {
        let codes: BTreeSet<&str> = r.reasons.iter().map(|x| x.code.as_str()).collect();
        for code in codes {
            let slot = given.entry(code).or_default();
            if planted.contains(&r.rep_id) {
                slot.0 += 1;
            } else {
                slot.1 += 1;
            }
        }
    }
    let others = list.reps.len() - k;
    let reasons = given
        .into_iter()
        .map(|(code, (p, o))| ReasonShare {
            code: code.to_owned(),
            planted: p as f64 / k.max(1) as f64,
            others: o as f64 / others.max(1) as f64,
        })
        .collect();
    let rankings = [RankBy::Priority, RankBy::Decline]
        .into_iter()
        .map(|by| {
            let mut reps = list.reps.clone();
            sort_reps(&mut reps, by);
            let (precision_at_k, recall_top_10pct) =
                hits(&planted_ranks(&reps, planted), reps.len());
            RankingScore {
                ranked_by: by,
                precision_at_k,
                recall_top_10pct,
            }
        })
        .collect();
    let (precision_at_k, recall_top_10pct) = hits(&ranks, list.reps.len());
    Ok(TruthEvaluation {
        period: list.period,
        as_of: list.as_of,
        listed: list.reps.len(),
        planted: k,
        ranked_by: list.ranked_by,
        k,
        precision_at_k,
        recall_top_10pct,
        reasons,
        ranks,
        rankings,
    })
}

/// Rank (1-based) of each planted rep in `reps`.
fn planted_ranks(reps: &[RepRisk], planted: &HashSet<String>) -> Vec<(String, usize)> {
    reps.iter()
        .enumerate()
        .filter(|(_, r)| planted.contains(&r.rep_id))
        .map(|(i, r)| (r.rep_id.clone(), i + 1))
        .collect()
}

/// Precision@k (k = planted reps on the list) and the share of them in
/// the top 10% of a list of `listed` reps.
fn hits(ranks: &[(String, usize)], listed: usize) -> (f64, f64) {
    let k = ranks.len();
    if k == 0 {
        return (0.0, 0.0);
    }
    let in_top = |n: usize| ranks.iter().filter(|(_, rank)| *rank <= n).count() as f64;
    (in_top(k) / k as f64, in_top(listed.div_ceil(10)) / k as f64)
}

/// AUC of P(miss quota) over the last `quarters` quarters that ended by
/// `as_of`, each forecast the day before it began with a model trained
/// then (kept in memory, not registered).
pub fn on_history(
    data: &SalesData,
    fingerprint: &str,
    as_of: NaiveDate,
    quarters: usize,
    paths: Paths,
    train: ValidTrainParams,
) -> Result<Vec<QuarterEvaluation>, JobError> {
    let engine = Engine::new(data);
    let fiscal = data.fiscal;
    let mut periods: Vec<Period> = Vec::new();
    let mut q = fiscal.quarter_of(as_of);
    while periods.len() < quarters {
        let start = fiscal.start(q);
        let Some(before) = start.pred_opt() else {
            break;
        };
        q = fiscal.quarter_of(before);
        if fiscal.end(q) > as_of {
            continue;
        }
        periods.push(q);
    }
    periods.reverse();
    let mut out = Vec::new();
    for period in periods {
        let (start, end) = (fiscal.start(period), fiscal.end(period));
        let Some(day) = start.pred_opt() else {
            continue;
        };
        let model = match engine.train(day, train.backtest, fingerprint) {
            Ok(m) => m,
            Err(EngineError::History(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        let p = period_paths(
            &engine,
            data,
            &model,
            day,
            period,
            paths,
            DEFAULT_SEED,
            fingerprint,
        )?;
        let booked = booked_between(data, start, end);
        let mut p_miss = Vec::new();
        let mut missed = Vec::new();
        for (r, &booked_r) in booked.iter().enumerate() {
            let rep = r as u32;
            if !data.in_seat(rep, day) || !data.in_seat(rep, end) {
                continue;
            }
            let quota = data.quota_between(rep, start, end);
            if quota <= 0.0 {
                continue;
            }
            let (miss, _) = miss_and_shortfall(p.rep(r), quota);
            p_miss.push(miss);
            missed.push(booked_r < quota);
        }
        let n = p_miss.len();
        out.push(QuarterEvaluation {
            period: period.to_string(),
            as_of: day,
            reps: n,
            missed: missed.iter().filter(|m| **m).count(),
            auc: auc(&p_miss, &missed),
            mean_p_miss: p_miss.iter().sum::<f64>() / n.max(1) as f64,
        });
    }
    Ok(out)
}

/// `attain coach --evaluate`: the list of `params` against the planted
/// reps of `truth` (when given), and P(miss quota) over the last
/// `quarters` quarters.
pub async fn evaluate(
    store: &crate::store::Store,
    settings: &crate::config::Settings,
    params: &CoachParams,
    truth: Option<&Path>,
    quarters: usize,
    train: ValidTrainParams,
) -> Result<Evaluation, JobError> {
    let (data, fingerprint) = crate::jobs::load(store, settings).await?;
    let registry = super::registry::shared(store, settings).await?;
    tokio::task::block_in_place(|| {
        let day = params.as_of.unwrap_or(data.last_date);
        let truth = match truth {
            Some(path) => {
                let planted = read_truth(path)?;
                Some(against_truth(
                    &data,
                    &fingerprint,
                    &registry,
                    params,
                    train,
                    &planted,
                )?)
            }
            None => None,
        };
        let history = on_history(&data, &fingerprint, day, quarters, params.paths, train)?;
        Ok(Evaluation { truth, history })
    })
}
