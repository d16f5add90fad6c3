//! The job behind `attain commissions` (and, later, the API's commission
//! routes): statements from the stored plan book, projections from the
//! forecast's sample paths, and what-ifs on one open deal.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::commission::CommissionError;
use crate::commission::credits::{Ledger, plan_on};
use crate::commission::engine::{Credit, Line, PayoutCurve, cents};
use crate::commission::payees::Payees;
use crate::commission::project::{
    MonthPaths, Payout, RepProjection, Sources, project_one, project_reps, roll_up,
};
use crate::config::Settings;
use crate::domain::span_of;
use crate::domain::{DEFAULT_SEED, Horizon, Money, Paths, Period, PlanBook};
use crate::features::deals::open_states;
use crate::features::{Level, SalesData, month_idx};
use crate::forecast::{Engine, EngineError, ForecastSpec};
use crate::ingest::parse_plan_book;
use crate::jobs::ValidTrainParams;
use crate::jobs::registry::Registry;
use crate::jobs::{self, JobError};
use crate::scoring::Scorer;

/// A what-if on one open deal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WhatIf {
    /// The deal closes won.
    Win(String),
    /// The deal is lost.
    Lose(String),
}

/// Settings of a commissions job.
#[derive(Debug, Clone)]
pub struct CommissionParams {
    /// As-of day (default: the last day of data).
    pub as_of: Option<NaiveDate>,
    /// Reported period (default: the fiscal quarter of the day after as-of).
    pub period: Option<Period>,
    /// Only this rep (rep level) or entity id (other levels).
    pub id: Option<String>,
    /// Level of the projection lines.
    pub level: Level,
    /// Sample paths.
    pub paths: Paths,
    /// Seed.
    pub seed: u64,
    /// A what-if on one open deal.
    pub what_if: Option<WhatIf>,
}

impl Default for CommissionParams {
    fn default() -> Self {
        CommissionParams {
            as_of: None,
            period: None,
            id: None,
            level: Level::Rep,
            paths: Paths::DEFAULT,
            seed: DEFAULT_SEED,
            what_if: None,
        }
    }
}

/// One statement line in a combined statement (all plan periods of the
/// reported period, one running total).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CombinedLine {
    /// The plan period the line belongs to.
    pub plan_period: String,
    /// The plan.
    pub plan_id: String,
    /// The line, its running total carried across plan periods.
    #[serde(flatten)]
    pub line: Line,
}

/// A rep's statement for a reported period.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RepStatement {
    /// The rep.
    pub rep_id: String,
    /// The reported period.
    pub period: String,
    /// Statement date.
    pub as_of: NaiveDate,
    /// Plan(s) in force (`a+b` when the rep changed plan in the period).
    pub plan_id: String,
    /// `open` (any plan period still open), `closed` (every one frozen)
    /// or `published` (every one frozen and published).
    pub status: String,
    /// Every line of every plan period in the reported period.
    pub lines: Vec<CombinedLine>,
    /// What the statements pay.
    pub total: Money,
    /// Each plan period's statement in full (quota, attainment, draw balance).
    pub statements: Vec<crate::commission::Statement>,
}

/// Projected payouts.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Projection {
    /// The reported period.
    pub period: String,
    /// As-of day.
    pub as_of: NaiveDate,
    /// Forecast model version the paths come from.
    pub model_version: String,
    /// Sample paths.
    pub paths: usize,
    /// Lines, by level then id.
    pub payouts: Vec<Payout>,
    /// The what-if, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what_if: Option<WhatIfResult>,
}

/// How one rep's payout moves under a what-if.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct WhatIfRep {
    /// The person credited.
    pub rep_id: String,
    /// Why: `own`, `team of M1 (credited to R3)`, `overlay, region EMEA`.
    pub credited_as: String,
    /// Their share of the deal's credit.
    pub share: Decimal,
    /// The plan period the deal would land in.
    pub plan_period: String,
    /// Exact change of that period's payout if the deal were booked today
    /// and nothing else closed (zero for a loss: nothing was booked).
    pub statement_change: Money,
    /// Mean projected payout without and with the outcome.
    pub mean_before: Money,
    /// Mean projected payout given the outcome.
    pub mean_after: Money,
    /// `mean_after - mean_before`.
    pub mean_change: Money,
    /// Median projected payout given the outcome.
    pub p50_after: Money,
}

/// The result of a what-if.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct WhatIfResult {
    /// The deal.
    pub opportunity_id: String,
    /// `win` or `lose`.
    #[schema(value_type = String)]
    pub outcome: &'static str,
    /// The deal's amount on the as-of day.
    pub amount: Money,
    /// Its calibrated win probability (what the paths already count).
    pub p_win: f64,
    /// Per credited rep.
    pub reps: Vec<WhatIfRep>,
}

/// The stored plan book, parsed.
pub async fn load_book(
    store: &crate::store::Store,
    settings: &Settings,
) -> Result<PlanBook, JobError> {
    let source = store
        .plan_book()
        .await
        .map_err(JobError::from)?
        .ok_or(CommissionError::NoPlans)?;
    parse_plan_book(&source, settings.fiscal).map_err(|problems| {
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        CommissionError::Invalid(text.join("; ")).into()
    })
}

/// The rates the plans need are stored (see [`crate::commission::credits::check_rates`]).
pub fn rates_for(data: &SalesData, book: &PlanBook) -> Result<(), CommissionError> {
    crate::commission::credits::check_rates(data, book)
        .map_err(|e| CommissionError::Conflict(e.to_string()))
}

fn rep_index(data: &SalesData, id: &str) -> Result<usize, CommissionError> {
    data.reps
        .iter()
        .position(|r| r.rep_id.as_str() == id)
        .ok_or_else(|| CommissionError::Param(format!("unknown rep {id:?}")))
}

fn period_and_day(data: &SalesData, params: &CommissionParams) -> (Period, NaiveDate) {
    let as_of = params.as_of.unwrap_or(data.last_date);
    let period = params
        .period
        .unwrap_or_else(|| data.fiscal.quarter_of(as_of.succ_opt().unwrap_or(as_of)));
    (period, as_of)
}

/// A rep's statement for the reported period. `ledger` holds at least
/// that rep's credits ([`Ledger::for_rep`] builds just those; a server keeps
/// [`Ledger::build`]'s for every rep); `books` holds the rep's frozen
/// statements (with their bodies) and adjustments. A plan period a close
/// froze is shown as it was frozen; an open one is worked out afresh, with
/// its adjustment lines and any correction of a closed one.
pub fn statement_data(
    data: &SalesData,
    book: &PlanBook,
    ledger: &Ledger,
    books: &super::close::Books,
    params: &CommissionParams,
) -> Result<RepStatement, JobError> {
    use crate::commission::close::Settled;
    let id = params
        .id
        .as_deref()
        .ok_or_else(|| CommissionError::Param("a statement is for one rep: give --rep".into()))?;
    let rep = rep_index(data, id)?;
    rates_for(data, book)?;
    let (period, as_of) = period_and_day(data, params);
    let (start, end) = (data.fiscal.start(period), data.fiscal.end(period));
    let frozen = books.frozen_of(id);
    let mut mine: Vec<crate::commission::Statement> = Vec::new();
    for s in books.settled(data, book, ledger, rep, as_of, end, true) {
        let st = s.statement();
        if st.end < start || st.start > end {
            continue;
        }
        match s {
            Settled::Open(st) => mine.push(st),
            Settled::Closed { frozen: i, .. } => {
                let f = &frozen[i];
                let mut body = books
                    .bodies
                    .get(id)
                    .and_then(|b| b.get(&f.start))
                    .cloned()
                    .ok_or_else(|| {
                        crate::store::StoreError::Corrupt(format!(
                            "the frozen statement of {id} from {} was not read",
                            f.start
                        ))
                    })?;
                body.status = books.status_of(f).to_owned();
                mine.push(body);
            }
            // Corrected whole in the first open period.
            Settled::Superseded(_) => {}
        }
    }
    if mine.is_empty() {
        return Err(CommissionError::Param(format!(
            "rep {id:?} is on no comp plan in {period} (no plan_id and no assignment)"
        ))
        .into());
    }
    let mut plans: Vec<&str> = mine.iter().map(|s| s.plan_id.as_str()).collect();
    plans.dedup();
    let mut carried = Decimal::ZERO;
    let mut lines = Vec::new();
    for s in &mine {
        for l in &s.lines {
            let mut line = l.clone();
            line.running_total = carried + l.running_total;
            lines.push(CombinedLine {
                plan_period: s.period.clone(),
                plan_id: s.plan_id.clone(),
                line,
            });
        }
        carried += s.total;
    }
    let status = if mine.iter().all(|s| s.status == "published") {
        "published"
    } else if mine.iter().all(|s| s.status != "open") {
        "closed"
    } else {
        "open"
    };
    Ok(RepStatement {
        rep_id: id.to_owned(),
        period: period.to_string(),
        as_of,
        plan_id: plans.join("+"),
        status: status.to_owned(),
        lines,
        total: Money::from_decimal(carried),
        statements: mine,
    })
}

/// The last day any plan period overlapping `period` can end on.
/// The last day any plan period of `books` overlapping `period` can end
/// on (the paths a projection or a scenario needs reach it).
pub(crate) fn horizon_end(
    books: &[&PlanBook],
    fiscal: crate::domain::FiscalCalendar,
    period: Period,
) -> NaiveDate {
    let end = fiscal.end(period);
    books
        .iter()
        .flat_map(|b| &b.plans)
        .map(|p| span_of(fiscal, p.period, end).end)
        .fold(end, NaiveDate::max)
}

/// Projected payouts (and a what-if) for the reported period.
pub fn projection_data(
    data: &SalesData,
    fingerprint: &str,
    registry: &Registry,
    book: &PlanBook,
    books: &super::close::Books,
    params: &CommissionParams,
    train: ValidTrainParams,
) -> Result<Projection, JobError> {
    rates_for(data, book)?;
    let (period, as_of) = period_and_day(data, params);
    let (start, end) = (data.fiscal.start(period), data.fiscal.end(period));
    let engine = Engine::new(data);
    let need_scoring = params.what_if.is_some() && !data.snaps.is_empty();
    let (model, scoring, _) = jobs::models_as_of(
        data,
        &engine,
        registry,
        as_of,
        train,
        fingerprint,
        need_scoring,
    )?;
    let first = month_idx(as_of.succ_opt().unwrap_or(as_of));
    let month_paths = month_paths(
        &engine,
        &ForecastSpec {
            model: &model,
            as_of,
            horizon: Horizon::DEFAULT,
            paths: params.paths,
            seed: params.seed,
            fingerprint,
        },
        horizon_end(&[book], data.fiscal, period),
        &format!("plan periods of {period}"),
    )?;
    if end < start {
        return Err(EngineError::Param(format!("empty period {period}")).into());
    }
    let paths = params.paths.get();
    let projector = Projector::new(
        (data, book, books),
        as_of,
        (start, end),
        MonthPaths {
            first,
            months: &month_paths,
            paths,
        },
        None,
    );
    let reps = projector.reps();
    let mut payouts: Vec<Payout> = roll_up(
        &engine.hierarchy_on(as_of),
        &reps,
        paths,
        Some(params.level),
    )
    .into_iter()
    .filter(|p| params.id.as_deref().is_none_or(|id| p.id == id))
    .collect();
    payouts.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(id) = &params.id {
        if payouts.is_empty() {
            return Err(CommissionError::Param(format!(
                "no {} {id:?} with a comp plan in {period}",
                params.level.as_str()
            ))
            .into());
        }
    }
    let what_if = match &params.what_if {
        None => None,
        Some(w) => Some(projector.what_if(w, scoring.as_ref(), &reps)?),
    };
    Ok(Projection {
        period: period.to_string(),
        as_of,
        model_version: model.version,
        paths,
        payouts,
        what_if,
    })
}

/// The forecast's monthly sample paths from the month after `spec.as_of`
/// to the month of `last_day` (none when it is not later), in order; `what`
/// names what reaches that far when it is beyond the longest horizon.
pub(crate) fn month_paths(
    engine: &Engine,
    spec: &ForecastSpec<'_>,
    last_day: NaiveDate,
    what: &str,
) -> Result<Vec<crate::forecast::PeriodPaths>, JobError> {
    let first = month_idx(spec.as_of.succ_opt().unwrap_or(spec.as_of));
    let last = month_idx(last_day);
    if last < first {
        return Ok(Vec::new());
    }
    let horizon = Horizon::new((last - first + 1) as usize).map_err(|_| {
        CommissionError::Param(format!(
            "{what} end more than {} months after {}",
            Horizon::MAX,
            spec.as_of
        ))
    })?;
    let (_, kept) = engine
        .forecast_with_paths(&ForecastSpec { horizon, ..*spec })
        .map_err(JobError::from)?;
    // Months only, in order (the engine also keeps quarters).
    Ok(kept
        .into_iter()
        .filter(|p| matches!(p.period, Period::Month { .. }))
        .collect())
}

/// What projecting one period needs, built once: each rep's projection
/// with or without a what-if's shift comes from it.
pub(crate) struct Projector<'a> {
    data: &'a SalesData,
    book: &'a PlanBook,
    books: &'a super::close::Books,
    ledger: std::borrow::Cow<'a, Ledger>,
    own: Sources,
    as_of: NaiveDate,
    span: (NaiveDate, NaiveDate),
    months: MonthPaths<'a>,
}

/// A rep's projection and the plan period it lands in, when on a plan.
pub(crate) type RepLine = Option<(RepProjection, String)>;

impl<'a> Projector<'a> {
    /// The projector of the days `span` as of `as_of` under `book`, closed
    /// periods settled by `books`, over `ledger` when one was built for
    /// `book` already (a server keeps the stored book's), else a new one.
    pub(crate) fn new(
        (data, book, books): (&'a SalesData, &'a PlanBook, &'a super::close::Books),
        as_of: NaiveDate,
        span: (NaiveDate, NaiveDate),
        months: MonthPaths<'a>,
        ledger: Option<&'a Ledger>,
    ) -> Projector<'a> {
        Projector {
            data,
            book,
            books,
            ledger: ledger.map_or_else(
                || std::borrow::Cow::Owned(Ledger::build(data, book)),
                std::borrow::Cow::Borrowed,
            ),
            own: Sources::new(data, as_of),
            as_of,
            span,
            months,
        }
    }

    /// A rep's statements settled against the close: a frozen one pays what
    /// it was frozen at; an open one carries its adjustment lines.
    fn settle(
        &self,
        rep: usize,
        all: Vec<crate::commission::Statement>,
    ) -> Vec<crate::commission::Statement> {
        use crate::commission::close::{Settled, settle};
        let id = self.data.reps[rep].rep_id.as_str();
        let frozen = self.books.frozen_of(id);
        let adjustments = self
            .books
            .adjustments
            .get(id)
            .map_or(&[][..], Vec::as_slice);
        if frozen.is_empty() && adjustments.is_empty() {
            return all;
        }
        settle(
            all,
            frozen,
            adjustments,
            &std::collections::HashMap::new(),
            false,
        )
        .into_iter()
        .filter_map(|s| match s {
            Settled::Open(st) => Some(st),
            Settled::Closed { frozen: i, mut now } => {
                now.total = Decimal::new(frozen[i].total_cents, 2);
                now.adjustments = Decimal::new(frozen[i].adjustments_cents, 2);
                now.status = "closed".to_owned();
                Some(now)
            }
            Settled::Superseded(_) => None,
        })
        .collect()
    }

    /// Every rep's projection.
    pub(crate) fn reps(&self) -> Vec<RepLine> {
        project_reps(
            self.data,
            self.book,
            &self.ledger,
            &self.own,
            self.as_of,
            self.span,
            &self.months,
            &|rep, all| self.settle(rep, all),
        )
    }

    /// One rep's projection, its credit on `shift.0` moved by `shift.1` cents.
    fn one(&self, rep: usize, shift: Option<(NaiveDate, i64)>) -> RepLine {
        project_one(
            self.data,
            self.book,
            &self.ledger,
            &self.own,
            rep,
            self.as_of,
            self.span,
            &self.months,
            shift,
            &|rep, all| self.settle(rep, all),
        )
    }

    /// The payout change if one open deal is won (or lost), for each rep
    /// it credits: the deal lands on its close date inside the period.
    fn what_if(
        &self,
        w: &WhatIf,
        scoring: Option<&crate::scoring::ScoringModel>,
        reps: &[RepLine],
    ) -> Result<WhatIfResult, JobError> {
        let (data, as_of, (start, end)) = (self.data, self.as_of, self.span);
        let (opp_id, win) = match w {
            WhatIf::Win(o) => (o, true),
            WhatIf::Lose(o) => (o, false),
        };
        let open = open_states(data, as_of);
        let deal = open
            .iter()
            .position(|d| data.opps[d.opp as usize].id == *opp_id)
            .ok_or_else(|| {
                CommissionError::Param(format!("deal {opp_id:?} is not open on {as_of}"))
            })?;
        let p_win = match scoring {
            Some(m) => {
                Scorer::new(m, data)
                    .probabilities(&open[deal..=deal], as_of)
                    .0[0]
            }
            None => 0.0,
        };
        let state = &open[deal];
        let amount = Decimal::new((state.amount * 100.0).round() as i64, 2);
        // The day it would land: its close date, kept inside the period
        // and after the as-of day.
        let land = state
            .close
            .unwrap_or(end)
            .max(as_of.succ_opt().unwrap_or(as_of))
            .max(start)
            .min(end);
        let split = self.book.splits.iter().find(|s| s.source_id == *opp_id);
        let shares: Vec<(usize, Decimal)> = match split {
            Some(s) => s
                .shares
                .iter()
                .filter_map(|(r, share)| rep_index(data, r.as_str()).ok().map(|i| (i, *share)))
                .collect(),
            None => vec![(state.rep as usize, Decimal::ONE)],
        };
        // Where it would be booked: its owner's territory on the day.
        let territory = data.territory_on(state.rep as usize, land);
        let region = territory.and_then(|t| data.regions.get(t));
        let deal = Credit {
            source_id: opp_id.clone(),
            opportunity_id: Some(opp_id.clone()),
            day: land,
            booking_amount: amount,
            amount,
            share: Decimal::ONE,
            product: data.opps[state.opp as usize]
                .product
                .map(|p| data.products[p as usize].clone()),
            cancelled: None,
            territory: territory.map(std::sync::Arc::from),
            region: region.map(|r| std::sync::Arc::from(r.as_str())),
            via: crate::commission::engine::Via::Own,
            source: None,
            conversion: None,
            measures: self.deal_measures(state.opp, amount),
        };
        let own: Vec<(usize, Credit)> = shares
            .into_iter()
            .map(|(rep, share)| {
                let part = cents(amount * share);
                let credit = Credit {
                    amount: part,
                    share,
                    measures: self.deal_measures(state.opp, part),
                    ..deal.clone()
                };
                (rep, credit)
            })
            .collect();
        // Everyone it would credit: its reps, and the managers, territory
        // and region payees and overlays their plans' rules add.
        let mut credited: Vec<(usize, Credit)> = Vec::new();
        Payees::new(data, self.book).credit_with(land, own, &|_| deal.clone(), &mut |r, c| {
            credited.push((r, c))
        });
        let outcome = Outcome { land, win, p_win };
        let out = credited
            .into_iter()
            .filter_map(|(person, credit)| {
                let (before, _) = reps[person].as_ref()?;
                self.what_if_person(person, credit, before, &outcome)
            })
            .collect();
        Ok(WhatIfResult {
            opportunity_id: opp_id.clone(),
            outcome: if win { "win" } else { "lose" },
            amount: Money::from_decimal(amount),
            p_win,
            reps: out,
        })
    }

    /// The margin and contract value of `amount` of deal `opp`: at the
    /// deal's own ratios when the data gives them, else at the
    /// organisation's.
    fn deal_measures(
        &self,
        opp: u32,
        amount: Decimal,
    ) -> Option<Box<[Option<crate::commission::engine::MeasureShare>; 2]>> {
        let data = self.data;
        let ratios = data.opps[opp as usize].measure_ratios;
        if data.booking_measures.is_empty() && ratios.iter().all(Option::is_none) {
            return None;
        }
        let mut out = [None; 2];
        for (k, slot) in out.iter_mut().enumerate() {
            let ratio = ratios[k].unwrap_or_else(|| data.measure_ratio(k));
            let ratio = Decimal::from_f64_retain(ratio).unwrap_or_default();
            *slot = Some(crate::commission::engine::MeasureShare {
                value: cents(amount * ratio),
                booked: None,
            });
        }
        Some(Box::new(out))
    }

    /// One credited person's side of a what-if (`hypothetical`: what the
    /// deal would credit them): the statement change at that credit, and
    /// the projected mean and median moved by what the paths did not
    /// already hold of it.
    fn what_if_person(
        &self,
        rep: usize,
        hypothetical: Credit,
        before: &RepProjection,
        outcome: &Outcome,
    ) -> Option<WhatIfRep> {
        let data = self.data;
        let land = outcome.land;
        let plan = plan_on(data, self.book, rep, land);
        let span = plan.map(|p| span_of(data.fiscal, p.period, land));
        // A rule crediting others applied its filters already.
        let credited_by_plan = plan.is_some_and(|p| {
            !p.credit.is_own()
                || (p.credits_product(hypothetical.product.as_deref())
                    && p.credits_place(
                        hypothetical.territory.as_deref(),
                        hypothetical.region.as_deref(),
                    ))
        });
        let credit = match plan {
            Some(p) if credited_by_plan => hypothetical.measured(p),
            _ => Decimal::ZERO,
        };
        // Paths already hold the deal with probability p_win: a win
        // adds the rest, a loss removes what they hold.
        let credit_f = credit.to_f64().unwrap_or(0.0);
        let shift = if outcome.win {
            credit_f * (1.0 - outcome.p_win)
        } else {
            -credit_f * outcome.p_win
        };
        let (after, _) = self.one(rep, Some((land, (shift * 100.0).round() as i64)))?;
        let statement_change = match plan {
            Some(plan) if outcome.win && credited_by_plan => after
                .statements
                .iter()
                .find(|s| s.start <= land && land <= s.end)
                .map_or(Decimal::ZERO, |st| {
                    let curve = PayoutCurve::new(
                        plan,
                        st.quota,
                        Decimal::ZERO,
                        Decimal::ZERO,
                        st.draw_balance,
                        true,
                    );
                    curve.payout(st.credited + credit) - curve.payout(st.credited)
                        + crate::commission::engine::spiffs_on(plan, &hypothetical)
                }),
            _ => Decimal::ZERO,
        };
        let mean = |p: &RepProjection| {
            let sum: i64 = p.paths.iter().sum();
            Decimal::new(sum, 2) / Decimal::from(p.paths.len().max(1))
        };
        let (mb, ma) = (mean(before), mean(&after));
        let mut sorted = after.paths.clone();
        sorted.sort_unstable();
        let p50 = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
        let rep_id = data.reps[rep].rep_id.as_str();
        Some(WhatIfRep {
            rep_id: rep_id.to_owned(),
            credited_as: plan.map_or_else(|| "own".to_owned(), |p| hypothetical.reason(rep_id, p)),
            share: hypothetical.share,
            plan_period: span.map(|s| s.label).unwrap_or_default(),
            statement_change: Money::from_decimal(statement_change),
            mean_before: Money::from_decimal(mb),
            mean_after: Money::from_decimal(ma),
            mean_change: Money::from_decimal(ma - mb),
            p50_after: Money::from_cents(p50),
        })
    }
}

/// The day a what-if's deal would land, and its outcome.
struct Outcome {
    /// The day it would land.
    land: chrono::NaiveDate,
    win: bool,
    p_win: f64,
}

/// Loads the store and the plan book and builds a statement.
pub async fn statement(
    store: &crate::store::Store,
    settings: &Settings,
    params: &CommissionParams,
) -> Result<RepStatement, JobError> {
    let book = load_book(store, settings).await?;
    let (data, _) = jobs::load(store, settings).await?;
    let id = params.id.as_deref().unwrap_or_default();
    let ledger = match data.reps.iter().position(|r| r.rep_id.as_str() == id) {
        Some(rep) => Ledger::for_rep(&data, &book, rep),
        None => Ledger { by_rep: Vec::new() },
    };
    let books = super::close::Books::of_rep(store, id).await?;
    statement_data(&data, &book, &ledger, &books, params)
}

/// Loads the store and the plan book and projects payouts.
pub async fn projection(
    store: &crate::store::Store,
    settings: &Settings,
    params: &CommissionParams,
    train: ValidTrainParams,
) -> Result<Projection, JobError> {
    let book = load_book(store, settings).await?;
    let (data, fingerprint) = jobs::load(store, settings).await?;
    let registry = super::registry::shared(store, settings).await?;
    let books = super::close::Books::load(store).await?;
    tokio::task::block_in_place(|| {
        projection_data(&data, &fingerprint, &registry, &book, &books, params, train)
    })
}
