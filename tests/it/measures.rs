//! Plans crediting margin or contract value instead of the booked amount,
//! golden statements computed by hand through the real path (files in,
//! statements out): a margin taken from the booking's row or, when the row
//! has none, from its deal in proportion; a split; a booking without the
//! measure credited nothing and saying so; a manager on team margin; a
//! margin booked in EUR converted for a plan paying in USD; a projection
//! turning the paths' bookings into margin at the rep's own ratio; and a
//! bad cell refused with its file, row and column.

use attain::commission::Statement;
use attain::commission::credits::{Ledger, statements};
use attain::commission::engine::LineKind;
use attain::commission::project::{MonthPaths, Sources, as_worked_out, project_one};
use attain::domain::{FiscalCalendar, Period};
use attain::features::{SalesData, month_idx};
use attain::forecast::PeriodPaths;
use attain::ingest::{IngestError, ingest, parse_plan_book};
use attain::store::Table;

use crate::helpers::{self, date};

const PLANS: &str = r#"
[[plan]]
id = "ae_margin"
period = "quarter"
measure = "margin"
  [[plan.tier]]
  from = "0%"
  to = "100%"
  rate = "10%"
  [[plan.tier]]
  from = "100%"
  rate = "20%"

[[plan]]
id = "ae_acv"
period = "quarter"
measure = "acv"
  [[plan.tier]]
  from = "0%"
  rate = "5%"

[[plan]]
id = "mgr"
period = "quarter"
credit = "team"
measure = "margin"
  [[plan.tier]]
  from = "0%"
  rate = "2%"

[[split]]
booking = "B2"
shares = { R1 = "60%", R2 = "40%" }
"#;

/// The organisation's files, with `bookings` as bookings.csv.
fn files(bookings: &str) -> Vec<(&'static str, &str)> {
    vec![
        (
            "territories.csv",
            "territory_id,name,region\nT1,Boston,NA\nT2,Paris,EMEA\n",
        ),
        (
            "reps.csv",
            "rep_id,name,manager_id,territory_id,role,hire_date,end_date,plan_id
M1,Manager,,T1,manager,2020-01-01,,mgr
R1,Rep One,M1,T1,rep,2020-01-01,,ae_margin
R2,Rep Two,M1,T1,rep,2020-01-01,,ae_acv
R3,Rep Paris,M1,T2,rep,2020-01-01,,ae_margin
",
        ),
        // O1 is worth 40,000 with a 12,000 margin; its booking B1 is half of it.
        (
            "opportunities.csv",
            "opportunity_id,rep_id,amount,stage,status,created_date,close_date,margin
O1,R1,40000,Closed Won,won,2024-11-01,2025-02-05,12000
",
        ),
        ("bookings.csv", bookings),
        (
            "quotas.csv",
            "rep_id,period,amount\nR1,2025-Q1,20000\nR1,2025-Q2,5000\nR2,2025-Q1,40000\nR3,2025-Q1,10000\nM1,2025-Q1,50000\n",
        ),
        ("fx_rates.csv", "date,currency,rate\n2025-01-01,EUR,1.10\n"),
        ("comp_plans.toml", PLANS),
    ]
}

const BOOKINGS: &str = "booking_id,rep_id,amount,booked_date,opportunity_id,currency,margin,acv
B1,R1,20000,2025-02-05,O1,,,
B2,R1,30000,2025-03-01,,,15000,30000
B3,R2,60000,2025-01-20,,,9000,20000
B4,R2,10000,2025-03-10,,,,
B5,R1,50000,2025-03-20,,,10000,
B6,R3,10000,2025-01-15,,EUR,5000,
";

async fn loaded(bookings: &str) -> (helpers::TestStore, SalesData) {
    let files = files(bookings);
    let (t, mut data) = helpers::ingested(&files, "2025-12-31").await;
    data.rates.set_org("USD");
    (t, data)
}

async fn book(t: &helpers::TestStore) -> attain::domain::PlanBook {
    let source = t.store.plan_book().await.expect("read").expect("plans");
    parse_plan_book(&source, FiscalCalendar::default()).expect("parse")
}

fn index(data: &SalesData, id: &str) -> usize {
    data.reps
        .iter()
        .position(|x| x.rep_id.as_str() == id)
        .expect("person")
}

fn q1(data: &SalesData, book: &attain::domain::PlanBook, ledger: &Ledger, id: &str) -> Statement {
    statements(
        data,
        book,
        ledger,
        index(data, id),
        date("2025-03-31"),
        date("2025-03-31"),
        true,
    )
    .into_iter()
    .find(|s| s.period == "2025-Q1")
    .expect("a Q1 statement")
}

fn credits(s: &Statement) -> Vec<(String, String)> {
    s.lines
        .iter()
        .filter(|l| l.kind == LineKind::Credit)
        .map(|l| {
            (
                l.description.clone(),
                format!("{:.2}", l.credit.unwrap_or_default()),
            )
        })
        .collect()
}

#[tokio::test]
async fn golden_margin_and_contract_value_statements() {
    let (t, data) = loaded(BOOKINGS).await;
    let book = book(&t).await;
    t.finish().await;
    let ledger = Ledger::build(&data, &book);

    // R1 on margin: B1 takes half of O1's 12,000 margin (it books 20,000
    // of the deal's 40,000) = 6,000; 60% of B2's 15,000 = 9,000; B5
    // 10,000. 25,000 against a 20,000 margin quota = 125%: 10% of 20,000
    // + 20% of 5,000 = 3,000.00.
    let r1 = q1(&data, &book, &ledger, "R1");
    assert_eq!(format!("{:.2}", r1.credited), "25000.00");
    assert_eq!(format!("{:.2}", r1.total), "3000.00");
    let c = credits(&r1);
    assert_eq!(c.len(), 3, "{c:?}");
    assert_eq!(c[0].1, "6000.00");
    assert!(c[0].0.contains("margin of 20000.00 booked"), "{}", c[0].0);
    assert_eq!(c[1].1, "9000.00");
    assert!(c[1].0.contains("60% split of 30000.00"), "{}", c[1].0);

    // R2 on contract value: 40% of B2's 30,000 = 12,000 and B3's 20,000;
    // B4 has none and counts nothing, saying so. 32,000 x 5% = 1,600.00.
    let r2 = q1(&data, &book, &ledger, "R2");
    assert_eq!(format!("{:.2}", r2.credited), "32000.00");
    assert_eq!(format!("{:.2}", r2.total), "1600.00");
    let c = credits(&r2);
    let b4 = c.iter().find(|(d, _)| d.contains("B4")).expect("B4's line");
    assert_eq!(b4.1, "0.00");
    assert!(b4.0.contains("no contract value recorded"), "{}", b4.0);

    // R3 books 10,000 EUR with a 5,000 EUR margin, paid in USD: 5,000 at
    // 1.10 = 5,500.00; 55% of 10,000; 10% = 550.00. The line shows the
    // margin as booked, the rate and its day.
    let r3 = q1(&data, &book, &ledger, "R3");
    assert_eq!(format!("{:.2}", r3.credited), "5500.00");
    assert_eq!(format!("{:.2}", r3.total), "550.00");
    let line = &credits(&r3)[0].0;
    assert!(line.contains("EUR 5000.00 at 1.1 on 2025-01-15"), "{line}");

    // M1 on the team's margin: B1 6,000 + B2 whole 15,000 (both shares
    // are in the team: counted once) + B3 9,000 + B4 none + B5 10,000 + B6
    // 5,500 = 45,500; 2% = 910.00.
    let m1 = q1(&data, &book, &ledger, "M1");
    assert_eq!(format!("{:.2}", m1.credited), "45500.00");
    assert_eq!(format!("{:.2}", m1.total), "910.00");
}

#[tokio::test]
async fn a_projection_turns_the_paths_bookings_into_margin_at_the_reps_ratio() {
    let (t, data) = loaded(BOOKINGS).await;
    let book = book(&t).await;
    t.finish().await;
    let ledger = Ledger::build(&data, &book);
    let as_of = date("2025-03-31");
    let sources = Sources::new(&data, as_of);
    // Four paths; R1 books 10,000 to 40,000 in April, nothing after.
    let r1 = index(&data, "R1");
    let month = |m: &str, values: [f32; 4]| {
        let mut reps = vec![0.0f32; data.reps.len() * 4];
        reps[r1 * 4..r1 * 4 + 4].copy_from_slice(&values);
        PeriodPaths {
            period: Period::parse(m).expect("month"),
            paths: 4,
            reps,
        }
    };
    let months = [
        month("2025-04", [10_000.0, 20_000.0, 30_000.0, 40_000.0]),
        month("2025-05", [0.0; 4]),
        month("2025-06", [0.0; 4]),
    ];
    let paths = MonthPaths {
        first: month_idx(date("2025-04-01")),
        months: &months,
        paths: 4,
    };
    let (p, plan) = project_one(
        &data,
        &book,
        &ledger,
        &sources,
        r1,
        as_of,
        (date("2025-04-01"), date("2025-06-30")),
        &paths,
        None,
        &as_worked_out,
    )
    .expect("a projection");
    assert_eq!(plan, "ae_margin");
    // Over the year R1 booked 100,000 (B1, B2 whole, B5) and was credited
    // 25,000 of margin: a ratio of 25%. Margin to come: 2,500 to 10,000
    // against a 5,000 Q2 quota: 250.00; 500.00; 500 + 20% of 2,500 =
    // 1,000.00; 500 + 20% of 5,000 = 1,500.00.
    assert_eq!(p.paths, vec![25_000, 50_000, 100_000, 150_000]);
}

#[tokio::test]
async fn a_bad_margin_is_refused_with_its_file_row_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = "booking_id,rep_id,amount,booked_date,opportunity_id,currency,margin,acv
B1,R1,20000,2025-02-05,O1,,about half,
B2,R1,30000,2025-03-01,,,15000,-5
";
    for (name, text) in files(bad) {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let t = helpers::sqlite().await;
    let err = ingest(
        &t.store,
        &[dir.path().to_path_buf()],
        &helpers::options(date("2025-12-31")),
    )
    .await
    .expect_err("refused");
    let IngestError::Invalid(report) = err else {
        panic!("expected a rejection, got {err}")
    };
    let text = report.to_string();
    assert!(
        text.contains("bookings.csv, row 2, column margin, value \"about half\""),
        "{text}"
    );
    assert!(
        text.contains("bookings.csv, row 3, column acv, value \"-5\""),
        "{text}"
    );
    assert_eq!(t.store.count(Table::Bookings).await.expect("count"), 0);
    t.finish().await;
}

#[tokio::test]
async fn a_hubspot_export_credits_its_annual_contract_value() {
    // HubSpot's deal export with its "Annual contract value" column: won
    // deals are the bookings, and a plan on `acv` counts that column.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("hubspot-crm-exports-all-deals-2025-04-02.csv"),
        "Record ID,Deal Name,Pipeline,Deal Stage,Amount,Annual contract value,Close Date,Create Date,Deal owner\n\
         9876543210,Acme 3-year,Sales Pipeline,Closed Won,\"36,000.00\",\"12,000.00\",2025-02-14 16:02,2025-01-09 10:30,Priya Natarajan\n\
         9876543211,Globex 1-year,Sales Pipeline,Closed Won,8000,8000,2025-03-30 00:00,2025-02-12 09:00,Priya Natarajan\n\
         9876543212,Initech pilot,Sales Pipeline,Contract Sent,3000,3000,2025-05-28 12:00,2025-03-01 08:15,Priya Natarajan\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("comp_plans.toml"),
        "[[plan]]\nid = \"ae\"\nperiod = \"quarter\"\nmeasure = \"acv\"\n  [[plan.tier]]\n  from = \"0%\"\n  rate = \"10%\"\n\n[[assignment]]\nrep_id = \"priya-natarajan\"\nplan = \"ae\"\nfrom = \"2025-01-01\"\n",
    )
    .expect("write");
    let t = helpers::sqlite().await;
    let mut options = helpers::options(date("2025-04-02"));
    options.snapshot_date = None;
    options.mapping = attain::ingest::Mapping::hubspot();
    ingest(&t.store, &[dir.path().to_path_buf()], &options)
        .await
        .expect("ingest");
    let data = SalesData::load(&t.store, FiscalCalendar::default())
        .await
        .expect("load");
    let book = book(&t).await;
    t.finish().await;
    let ledger = Ledger::build(&data, &book);
    let s = q1(&data, &book, &ledger, "priya-natarajan");
    // 12,000 + 8,000 of contract value, 10% = 2,000.00 (not 4,400.00 on
    // the 44,000 booked).
    assert_eq!(format!("{:.2}", s.credited), "20000.00");
    assert_eq!(format!("{:.2}", s.total), "2000.00");
}
