//! The planning jobs behind `attain plan` and `/v1/plan/...`: a quota
//! proposal, a comp-plan scenario and the territory balance, each from one
//! forecast's sample paths for the period. Nothing is stored.

use chrono::NaiveDate;

use super::commissions::{Projector, horizon_end, load_book, month_paths, rates_for};
use super::registry::Registry;
use super::{JobError, ValidTrainParams};
use crate::commission::CommissionError;
use crate::commission::credits::Ledger;
use crate::commission::project::MonthPaths;
use crate::config::Settings;
use crate::domain::{DEFAULT_SEED, Horizon, Money, Paths, Period, PlanBook};
use crate::features::{SalesData, month_idx};
use crate::forecast::{Engine, ForecastSpec, PeriodPaths};
use crate::planning::quotas::QuotaMethod;
use crate::planning::scenario::{self, CompScenario, Projected};
use crate::planning::territories::{self, TerritoryReport};
use crate::planning::{self, PlanningError, QuotaProposal, QuotaRequest, RepPeriodPaths};
use crate::store::Store;

/// The forecast a plan reads.
#[derive(Debug, Clone, Copy)]
pub struct PlanParams {
    /// The forecast's day (default: the last day of data).
    pub as_of: Option<NaiveDate>,
    /// The period planned (default: the fiscal quarter after the day).
    pub period: Option<Period>,
    /// Sample paths.
    pub paths: Paths,
    /// Seed.
    pub seed: u64,
}

impl Default for PlanParams {
    fn default() -> Self {
        PlanParams {
            as_of: None,
            period: None,
            paths: Paths::DEFAULT,
            seed: DEFAULT_SEED,
        }
    }
}

/// A quota proposal's settings.
#[derive(Debug, Clone)]
pub struct QuotaParams {
    /// The forecast and period.
    pub plan: PlanParams,
    /// The company target.
    pub target: Money,
    /// How it is shared.
    pub method: QuotaMethod,
    /// Quotas given for some reps.
    pub pins: Vec<(String, Money)>,
}

/// One forecast of a period: the paths every plan reads.
pub struct Forecasted {
    /// The forecast's day.
    pub as_of: NaiveDate,
    /// The period.
    pub period: Period,
    /// Its first and last day.
    pub span: (NaiveDate, NaiveDate),
    /// The model version.
    pub model_version: String,
    /// The forecast's monthly paths from the month after the day.
    pub months: Vec<PeriodPaths>,
    /// Each rep's bookings in the period on every path.
    pub period_paths: RepPeriodPaths,
    /// Per person, whether anyone reports to them.
    pub has_reports: Vec<bool>,
}

impl Forecasted {
    /// The monthly paths as the commission projection reads them.
    pub fn month_paths(&self) -> MonthPaths<'_> {
        MonthPaths {
            first: month_idx(self.as_of.succ_opt().unwrap_or(self.as_of)),
            months: &self.months,
            paths: self.period_paths.paths,
        }
    }
}

/// Forecasts the period of `params` (training a model when none is
/// registered for the day), up to `last_day` when that is later.
pub fn forecast_period(
    data: &SalesData,
    fingerprint: &str,
    registry: &Registry,
    params: &PlanParams,
    train: ValidTrainParams,
    last_day: Option<NaiveDate>,
) -> Result<Forecasted, JobError> {
    let as_of = super::within_data(data, params.as_of.unwrap_or(data.last_date))?;
    let after = as_of.succ_opt().unwrap_or(as_of);
    let period = params
        .period
        .unwrap_or_else(|| data.fiscal.quarter_of(after));
    let span = (data.fiscal.start(period), data.fiscal.end(period));
    if span.1 < after {
        return Err(PlanningError::Field {
            field: "period",
            message: format!("{period} ended by {as_of}: plan a period still to come"),
        }
        .into());
    }
    let engine = Engine::new(data);
    let (model, _, _) =
        super::models_as_of(data, &engine, registry, as_of, train, fingerprint, false)?;
    let months = month_paths(
        &engine,
        &ForecastSpec {
            model: &model,
            as_of,
            horizon: Horizon::DEFAULT,
            paths: params.paths,
            seed: params.seed,
            fingerprint,
        },
        last_day.unwrap_or(span.1).max(span.1),
        &format!("{period}"),
    )?;
    let first = month_idx(after);
    let period_paths = RepPeriodPaths::new(data, &months, first, params.paths.get(), span);
    Ok(Forecasted {
        as_of,
        period,
        span,
        model_version: model.version,
        months,
        period_paths,
        has_reports: engine.hierarchy_on(as_of).has_reports.clone(),
    })
}

/// A quota proposal over a forecast already made.
pub fn propose(
    data: &SalesData,
    book: Option<&PlanBook>,
    f: &Forecasted,
    params: &QuotaParams,
) -> Result<QuotaProposal, JobError> {
    let carriers = planning::carriers(data, book, &f.has_reports, f.span);
    let request = QuotaRequest {
        period: f.period,
        as_of: f.as_of,
        target_cents: params.target.cents(),
        method: params.method,
        pins: params
            .pins
            .iter()
            .map(|(id, m)| (id.clone(), m.cents()))
            .collect(),
    };
    Ok(planning::propose(
        data,
        &f.period_paths,
        &carriers,
        &request,
        &f.model_version,
    )?)
}

/// The current book projected on the forecast's paths: one side of every
/// scenario, the same whatever the candidate (a server keeps it while the
/// data, models and books stay as they are). `ledger` is the book's
/// credits when already built.
pub fn current_side(
    data: &SalesData,
    (current, ledger): (&PlanBook, Option<&Ledger>),
    books: &super::close::Books,
    f: &Forecasted,
) -> Result<Vec<Projected>, JobError> {
    rates_for(data, current)?;
    Ok(Projector::new(
        (data, current, books),
        f.as_of,
        f.span,
        f.month_paths(),
        ledger,
    )
    .reps())
}

/// A candidate book run over the same paths as the current one, whose
/// projections (`now`, from [`current_side`]) are given.
pub fn scenario_of(
    data: &SalesData,
    (current, now): (&PlanBook, &[Projected]),
    candidate: &PlanBook,
    books: &super::close::Books,
    f: &Forecasted,
) -> Result<CompScenario, JobError> {
    rates_for(data, candidate)?;
    let then = Projector::new(
        (data, candidate, books),
        f.as_of,
        f.span,
        f.month_paths(),
        None,
    )
    .reps();
    let current_side = scenario::summarise(current, now, &f.period_paths);
    let candidate_side = scenario::summarise(candidate, &then, &f.period_paths);
    Ok(CompScenario {
        period: f.period.to_string(),
        as_of: f.as_of,
        model_version: f.model_version.clone(),
        paths: f.period_paths.paths,
        change: Money::from_cents(candidate_side.mean.cents() - current_side.mean.cents()),
        current: current_side,
        candidate: candidate_side,
        reps: scenario::changes(data, now, &then),
    })
}

/// The territory balance over a forecast already made.
pub fn balance_of(data: &SalesData, book: Option<&PlanBook>, f: &Forecasted) -> TerritoryReport {
    let carriers = planning::carriers(data, book, &f.has_reports, f.span);
    let quota: Vec<i64> = (0..data.reps.len() as u32)
        .map(|r| data.quota_cents_between(r, f.span.0, f.span.1))
        .collect();
    // Each territory's paths: everyone seated in it on the day.
    let paths = f.period_paths.paths;
    let mut sums: std::collections::HashMap<&str, Vec<f64>> = std::collections::HashMap::new();
    for r in 0..data.reps.len() {
        if let Some(t) = data.territory_on(r, f.as_of) {
            let s = sums.entry(t).or_insert_with(|| vec![0.0; paths]);
            for (x, v) in s.iter_mut().zip(f.period_paths.rep(r)) {
                *x += f64::from(*v);
            }
        }
    }
    let p50: std::collections::HashMap<&str, i64> = sums
        .into_iter()
        .map(|(t, mut v)| {
            v.sort_by(f64::total_cmp);
            let m = v.get(v.len() / 2).copied().unwrap_or(0.0);
            (t, (m * 100.0).round() as i64)
        })
        .collect();
    territories::balance(
        data,
        f.as_of,
        f.period.to_string(),
        &carriers,
        &quota,
        &|t| p50.get(t).copied().unwrap_or(0),
    )
}

/// The stored plan book when there is one.
async fn book_if_any(store: &Store, settings: &Settings) -> Result<Option<PlanBook>, JobError> {
    match load_book(store, settings).await {
        Ok(book) => Ok(Some(book)),
        Err(JobError::Commission(CommissionError::NoPlans)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Loads the store and proposes quotas.
pub async fn quotas(
    store: &Store,
    settings: &Settings,
    params: &QuotaParams,
    train: ValidTrainParams,
) -> Result<QuotaProposal, JobError> {
    let book = book_if_any(store, settings).await?;
    let (data, fingerprint) = super::load(store, settings).await?;
    let registry = super::registry::shared(store, settings).await?;
    tokio::task::block_in_place(|| {
        let f = forecast_period(&data, &fingerprint, &registry, &params.plan, train, None)?;
        propose(&data, book.as_ref(), &f, params)
    })
}

/// Loads the store and runs the plan book in `candidate` (the text of a
/// comp_plans.toml) beside the stored one.
pub async fn comp(
    store: &Store,
    settings: &Settings,
    candidate: &str,
    params: &PlanParams,
    train: ValidTrainParams,
) -> Result<CompScenario, JobError> {
    let candidate =
        crate::ingest::parse_plan_book(candidate, settings.fiscal).map_err(|problems| {
            let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
            CommissionError::Invalid(text.join("; "))
        })?;
    let current = load_book(store, settings).await?;
    let (data, fingerprint) = super::load(store, settings).await?;
    let registry = super::registry::shared(store, settings).await?;
    let books = super::close::Books::load(store).await?;
    tokio::task::block_in_place(|| {
        let as_of = params.as_of.unwrap_or(data.last_date);
        let period = params
            .period
            .unwrap_or_else(|| data.fiscal.quarter_of(as_of.succ_opt().unwrap_or(as_of)));
        let last = horizon_end(&[&current, &candidate], data.fiscal, period);
        let f = forecast_period(&data, &fingerprint, &registry, params, train, Some(last))?;
        let now = current_side(&data, (&current, None), &books, &f)?;
        scenario_of(&data, (&current, &now), &candidate, &books, &f)
    })
}

/// Loads the store and balances the territories.
pub async fn territories(
    store: &Store,
    settings: &Settings,
    params: &PlanParams,
    train: ValidTrainParams,
) -> Result<TerritoryReport, JobError> {
    let book = book_if_any(store, settings).await?;
    let (data, fingerprint) = super::load(store, settings).await?;
    let registry = super::registry::shared(store, settings).await?;
    tokio::task::block_in_place(|| {
        let f = forecast_period(&data, &fingerprint, &registry, params, train, None)?;
        Ok(balance_of(&data, book.as_ref(), &f))
    })
}
