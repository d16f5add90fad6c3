//! Planning speed on the generated 10,000-rep organisation over 1,000
//! sample paths per rep, with the forecast's paths already made (a server
//! keeps them between plans; the engine's own time is under the forecast
//! benchmarks): a quota proposal (the period's paths, who carries a quota,
//! weights, the allocation and every rep's P(attain)), a comp-plan
//! scenario (the stored book, whose credits the server keeps, and a
//! candidate whose credits are built, each projected on every path and
//! summed), and the next scenario over the same forecast (the stored
//! book's side kept, as a server keeps it). Setup (generate + ingest) is
//! not timed.
//! Run: `cargo bench --bench planning`.

use std::time::Duration;

use attain::commission::credits::Ledger;
use attain::domain::{FiscalCalendar, Money};
use attain::features::{Hierarchy, month_idx};
use attain::ingest::parse_plan_book;
use attain::jobs::close::Books;
use attain::jobs::plan::{self, Forecasted, QuotaParams};
use attain::planning::RepPeriodPaths;
use attain::planning::quotas::QuotaMethod;
use criterion::{Criterion, criterion_group, criterion_main};

mod support;

const REPS: usize = 10_000;
const PATHS: usize = 1_000;

fn planning(c: &mut Criterion) {
    let (data, plans) = support::org(REPS, 42);
    let text = plans.expect("plans");
    let book = parse_plan_book(&text, FiscalCalendar::default()).expect("plans parse");
    // A candidate: the managers' rate doubled.
    let candidate = parse_plan_book(
        &text.replace("rate = \"1.5%\"", "rate = \"3%\""),
        FiscalCalendar::default(),
    )
    .expect("candidate parses");
    let as_of = data.last_date;
    let after = as_of.succ_opt().expect("day");
    let first = month_idx(after);
    let period = data.fiscal.quarter_of(after);
    let span = (data.fiscal.start(period), data.fiscal.end(period));
    let months = support::month_paths(&data, first, PATHS);
    let forecasted = |months: Vec<attain::forecast::PeriodPaths>| Forecasted {
        as_of,
        period,
        span,
        model_version: "bench".into(),
        period_paths: RepPeriodPaths::new(&data, &months, first, PATHS, span),
        months,
        has_reports: Hierarchy::build(&data).has_reports,
    };
    let f = forecasted(months.clone());
    let target = {
        let company = f.period_paths.company();
        Money::from_cents((company.iter().sum::<f64>() / company.len() as f64 * 100.0) as i64)
    };
    let params = |method| QuotaParams {
        plan: plan::PlanParams::default(),
        target,
        method,
        pins: Vec::new(),
    };
    let once =
        plan::propose(&data, Some(&book), &f, &params(QuotaMethod::History)).expect("proposal");
    eprintln!(
        "{} people, {} carry a quota in {period}; target {target}; history spread {:.3} against equal {:.3}",
        data.reps.len(),
        once.reps.len(),
        once.fairness.sd,
        once.equal_quotas.sd
    );
    let mut group = c.benchmark_group("planning");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("quota_proposal_10k_reps_1000_paths", |b| {
        b.iter(|| {
            // The period's paths from the months, then the proposal.
            let f = forecasted(months.clone());
            plan::propose(&data, Some(&book), &f, &params(QuotaMethod::Blend))
                .expect("proposal")
                .reps
                .len()
        })
    });
    // A server keeps the stored book's credits with the data.
    let ledger = Ledger::build(&data, &book);
    let books = Books::default();
    group.measurement_time(Duration::from_secs(120));
    group.bench_function("comp_scenario_10k_reps_1000_paths", |b| {
        b.iter(|| {
            let now = plan::current_side(&data, (&book, Some(&ledger)), &books, &f)
                .expect("current side");
            plan::scenario_of(&data, (&book, &now), &candidate, &books, &f)
                .expect("scenario")
                .reps
                .len()
        })
    });
    // ... and the stored book's side over the planning forecast, so the
    // next candidate projects only itself.
    let now = plan::current_side(&data, (&book, Some(&ledger)), &books, &f).expect("current");
    group.measurement_time(Duration::from_secs(60));
    group.bench_function("next_comp_scenario_10k_reps_1000_paths", |b| {
        b.iter(|| {
            plan::scenario_of(&data, (&book, &now), &candidate, &books, &f)
                .expect("scenario")
                .reps
                .len()
        })
    });
    group.finish();
}

criterion_group!(benches, planning);
criterion_main!(benches);
