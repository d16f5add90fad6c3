//! The organisation's history: a rep who moved teams mid-quarter credits
//! the old manager with what they booked before the move and the new one
//! after it, on both back-ends; history rows that name unknown people or
//! territories, or make a loop of managers, are refused with their row and
//! column, and nothing is stored.

use attain::commission::credits::{Ledger, statements};
use attain::commission::engine::LineKind;
use attain::domain::FiscalCalendar;
use attain::features::SalesData;
use attain::ingest::{IngestError, ingest, parse_plan_book};

use crate::credit::{PLANS, write};
use crate::helpers::{self, date};

/// R2 worked for M2 in T3 until 14 February 2025, then for M1 in T2 (as
/// reps.csv says today); they booked B-O2 on 10 February (before) and a
/// renewal of 20,000 on 5 March (after, no territory named).
const HISTORY: &str = "rep_id,from,manager_id,territory_id
R2,2024-01-01,M2,T3
R2,2025-02-15,M1,T2
";

#[tokio::test]
async fn a_rep_moved_mid_quarter_credits_each_team_with_its_part() {
    for t in helpers::backends().await {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), PLANS);
        let bookings = std::fs::read_to_string(dir.path().join("bookings.csv")).expect("read");
        std::fs::write(
            dir.path().join("bookings.csv"),
            format!("{bookings}B-X,R2,20000,2025-03-05,,\n"),
        )
        .expect("write");
        std::fs::write(dir.path().join("org_history.csv"), HISTORY).expect("write");
        let summary = ingest(
            &t.store,
            &[dir.path().to_path_buf()],
            &helpers::options(date("2025-12-31")),
        )
        .await
        .expect("ingest");
        assert_eq!(summary.tables["org_history"].inserted, 2, "{}", t.name);
        let data = SalesData::load(&t.store, FiscalCalendar::default())
            .await
            .expect("load");
        let source = t.store.plan_book().await.expect("read").expect("plans");
        let book = parse_plan_book(&source, FiscalCalendar::default()).expect("parse");
        let ledger = Ledger::build(&data, &book);
        let q1 = |id: &str| {
            let r = data
                .reps
                .iter()
                .position(|x| x.rep_id.as_str() == id)
                .expect("person");
            let (day, until) = (date("2025-03-31"), date("2025-03-31"));
            let all = statements(&data, &book, &ledger, r, day, until, true);
            // One person's own ledger finds the same credits.
            let alone = Ledger::for_rep(&data, &book, r);
            assert_eq!(statements(&data, &book, &alone, r, day, until, true), all);
            all.into_iter()
                .find(|s| s.period == "2025-Q1")
                .expect("a Q1 statement")
        };
        let lines = |s: &attain::commission::Statement| -> Vec<String> {
            s.lines
                .iter()
                .filter(|l| l.kind == LineKind::Credit)
                .map(|l| {
                    format!(
                        "{} {:.2} {}",
                        l.source.clone().unwrap_or_default(),
                        l.credit.unwrap_or_default(),
                        l.credited_as.clone().unwrap_or_default()
                    )
                })
                .collect()
        };
        let (m1, m2) = (q1("M1"), q1("M2"));
        // M1: R1's 60,000 and half of B-O5, M1's own 10,000, and R2's
        // renewal after the move: 105,000 against 120,000, all at 2%.
        assert_eq!(
            lines(&m1),
            [
                "B-O1 60000.00 team of M1 (credited to R1)",
                "B-O4 10000.00 own",
                "B-X 20000.00 team of M1 (credited to R2)",
                "B-O5 15000.00 team of M1 (credited to R1)",
            ],
            "{}",
            t.name
        );
        assert_eq!(format!("{:.2}", m1.total), "2100.00", "{}", t.name);
        // M2: R3's 40,000 and half of B-O5, and R2's B-O2 from before the
        // move: 105,000 at 2%.
        assert_eq!(
            lines(&m2),
            [
                "B-O2 50000.00 team of M2 (credited to R2)",
                "B-O3 40000.00 team of M2 (credited to R3)",
                "B-O5 15000.00 team of M2 (credited to R3)",
            ],
            "{}",
            t.name
        );
        assert_eq!(format!("{:.2}", m2.total), "2100.00", "{}", t.name);
        // Without the history both would have gone to M1.
        assert!(
            data.org.moved(
                data.reps
                    .iter()
                    .position(|r| r.rep_id.as_str() == "R2")
                    .expect("R2")
            )
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn history_rows_that_do_not_fit_the_organisation_are_refused() {
    let bad = "rep_id,from,manager_id,territory_id
R9,2025-01-01,M1,
R2,2025-13-01,M1,
R2,2025-02-01,M9,
R2,2025-03-01,,T9
R2,2025-04-01,,
M1,2025-05-01,R1,
R2,2025-06-01,M1,T1
R2,2025-06-01,M2,T1
";
    let t = helpers::sqlite().await;
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), PLANS);
    std::fs::write(dir.path().join("org_history.csv"), bad).expect("write");
    let err = ingest(
        &t.store,
        &[dir.path().to_path_buf()],
        &helpers::options(date("2025-12-31")),
    )
    .await
    .expect_err("refused");
    let IngestError::Invalid(report) = &err else {
        panic!("not a validation error: {err}")
    };
    let text = report.to_string();
    for expected in [
        "row 2",
        "rep_id",
        "no such person",
        "row 3",
        "not a day",
        "row 4",
        "row 5",
        "no such territory",
        "row 6",
        "a row must name a manager, a territory or both",
        "row 9",
        "R2 already has another row from 2025-06-01",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    assert!(t.store.org_history().await.expect("read").is_empty());
    assert!(t.store.reps().await.expect("reps").is_empty());

    // A loop: M1 under R1 while R1 is under M1.
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), PLANS);
    std::fs::write(
        dir.path().join("org_history.csv"),
        "rep_id,from,manager_id,territory_id\nM1,2025-05-01,R1,\n",
    )
    .expect("write");
    let err = ingest(
        &t.store,
        &[dir.path().to_path_buf()],
        &helpers::options(date("2025-12-31")),
    )
    .await
    .expect_err("refused");
    let IngestError::Invalid(report) = &err else {
        panic!("not a validation error: {err}")
    };
    let text = report.to_string();
    assert!(
        text.contains("from 2025-05-01 this makes a loop of managers: M1 -> R1 -> M1"),
        "{text}"
    );
    assert!(text.contains("row 2"), "{text}");
    assert!(t.store.org_history().await.expect("read").is_empty());
    t.finish().await;
}
