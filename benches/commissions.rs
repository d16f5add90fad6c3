//! Commission speed: projecting 10,000 reps' payouts over 1,000 sample
//! paths (statements to date, the plan applied to every path, roll-up to
//! every level), and one rep's statement.
//!
//! The organisation is the generated 10,000-rep one with its
//! `comp_plans.toml`; the paths are drawn here (log-normal around each
//! rep's trailing monthly bookings) rather than by the forecast engine, so
//! the figure is the commission engine's alone. Setup (generate + ingest,
//! about two minutes) is not timed. Run: `cargo bench --bench commissions`.

use std::time::Duration;

use attain::commission::credits::Ledger;
use attain::commission::project::{MonthPaths, Sources, as_worked_out, project_reps, roll_up};
use attain::domain::{FiscalCalendar, PlanBook};
use attain::features::{Hierarchy, SalesData, month_idx};
use attain::ingest::parse_plan_book;
use attain::jobs::close::Books;
use attain::jobs::commissions::{CommissionParams, statement_data};
use criterion::{Criterion, criterion_group, criterion_main};

mod support;
use support::month_paths;

const REPS: usize = 10_000;
const PATHS: usize = 1_000;

fn setup() -> (SalesData, PlanBook) {
    let (data, plans) = support::org(REPS, 42);
    let book =
        parse_plan_book(&plans.expect("plans"), FiscalCalendar::default()).expect("plans parse");
    (data, book)
}

fn commissions(c: &mut Criterion) {
    let (data, book) = setup();
    let as_of = data.last_date;
    let first = month_idx(as_of.succ_opt().expect("day"));
    let period = data.fiscal.quarter_of(as_of.succ_opt().expect("day"));
    let span = (data.fiscal.start(period), data.fiscal.end(period));
    let paths = month_paths(&data, first, PATHS);
    let months = MonthPaths {
        first,
        months: &paths,
        paths: PATHS,
    };
    let hierarchy = Hierarchy::build(&data);
    let quota_reps = data.reps.iter().filter(|r| r.plan_id.is_some()).count();
    eprintln!(
        "{} people ({} on a plan), {} bookings, {} plans, {} splits; period {period} as of {as_of}",
        data.reps.len(),
        quota_reps,
        data.bookings.len(),
        book.plans.len(),
        book.splits.len()
    );
    let mut group = c.benchmark_group("commissions");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.bench_function("project_10k_reps_1000_paths", |b| {
        b.iter(|| {
            let ledger = Ledger::build(&data, &book);
            let own = Sources::new(&data, data.last_date);
            let reps = project_reps(
                &data,
                &book,
                &ledger,
                &own,
                as_of,
                span,
                &months,
                &as_worked_out,
            );
            roll_up(&hierarchy, &reps, PATHS, None).len()
        })
    });
    // A seller (role rep) on their own credit; a manager on team credit.
    let first_on = |role: attain::domain::RepRole| {
        data.reps
            .iter()
            .find(|r| r.plan_id.is_some() && r.role == Some(role))
            .map(|r| r.rep_id.to_string())
            .expect("a person on a plan")
    };
    let rep = first_on(attain::domain::RepRole::Rep);
    let manager = first_on(attain::domain::RepRole::Manager);
    let params = CommissionParams {
        as_of: Some(as_of),
        period: Some(period),
        id: Some(rep),
        ..CommissionParams::default()
    };
    group.measurement_time(Duration::from_secs(10));
    group.sample_size(50);
    // A server builds every rep's credits once per data load...
    group.bench_function("credit_ledger_all_reps", |b| {
        b.iter(|| Ledger::build(&data, &book).by_rep.len())
    });
    // ...and then a statement is the rep's periods alone.
    let ledger = Ledger::build(&data, &book);
    group.bench_function("one_rep_statement", |b| {
        b.iter(|| {
            statement_data(&data, &book, &ledger, &Books::default(), &params)
                .expect("statement")
                .lines
                .len()
        })
    });
    // The CLI builds only the rep's own credits.
    group.bench_function("one_rep_statement_own_ledger", |b| {
        b.iter(|| {
            let rep = data
                .reps
                .iter()
                .position(|r| Some(r.rep_id.as_str()) == params.id.as_deref())
                .expect("rep");
            let own = Ledger::for_rep(&data, &book, rep);
            statement_data(&data, &book, &own, &Books::default(), &params)
                .expect("statement")
                .lines
                .len()
        })
    });
    // A manager's statement: every booking of their team, through the
    // credit rule; building their credits alone looks at their team's.
    let params = CommissionParams {
        id: Some(manager),
        ..params
    };
    group.bench_function("one_manager_statement_own_ledger", |b| {
        b.iter(|| {
            let m = data
                .reps
                .iter()
                .position(|r| Some(r.rep_id.as_str()) == params.id.as_deref())
                .expect("manager");
            let own = Ledger::for_rep(&data, &book, m);
            statement_data(&data, &book, &own, &Books::default(), &params)
                .expect("statement")
                .lines
                .len()
        })
    });
    group.finish();
}

criterion_group!(benches, commissions);
criterion_main!(benches);
