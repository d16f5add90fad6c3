//! Credit rules and measures, golden statements computed by hand through
//! the real path (files -> ingest -> store -> plan book -> statement):
//! a manager's team credit, an overlay on one product in a region, a plan
//! that counts deals, and plan files that misuse the rules.

use attain::commission::Statement;
use attain::commission::credits::{Ledger, statements};
use attain::commission::engine::LineKind;
use attain::domain::FiscalCalendar;
use attain::features::SalesData;
use attain::ingest::{ingest, parse_plan_book};

use crate::helpers::{self, date};

/// Leader L1 over managers M1 (R1 in T1, R2 in T2, both EMEA) and M2 (R3
/// in T3, NA); S1, a Platform specialist under L1 for EMEA.
const REPS: &str = "rep_id,name,manager_id,territory_id,role,hire_date,end_date,plan_id
L1,Leader,,T1,leader,2020-01-01,,
M1,Manager One,L1,T1,manager,2020-01-01,,mgr
M2,Manager Two,L1,T3,manager,2020-01-01,,mgr
R1,Rep One,M1,T1,rep,2020-01-01,,ae
R2,Rep Two,M1,T2,rep,2020-01-01,,ae
R3,Rep Three,M2,T3,rep,2020-01-01,,logos
S1,Specialist,L1,T1,rep,2020-01-01,,overlay
";

const TERRITORIES: &str = "territory_id,name,region
T1,North,EMEA
T2,South,EMEA
T3,West,NA
";

/// (booking, rep, product, amount, day, territory)
const DEALS: [(&str, &str, &str, &str, &str, &str); 5] = [
    ("O1", "R1", "Core", "60000", "2025-01-10", "T1"),
    ("O2", "R2", "Platform", "50000", "2025-02-10", "T2"),
    ("O3", "R3", "Platform", "40000", "2025-02-20", "T3"),
    ("O4", "M1", "Core", "10000", "2025-03-01", ""),
    ("O5", "R1", "Platform", "30000", "2025-03-15", "T1"),
];

pub(crate) const PLANS: &str = r#"
[[plan]]
id = "ae"
period = "quarter"
  [[plan.tier]]
  from = "0%"
  rate = "10%"

[[plan]]
id = "mgr"
name = "Front-line manager"
period = "quarter"
credit = "team"
  [[plan.tier]]
  from = "0%"
  to = "100%"
  rate = "2%"
  [[plan.tier]]
  from = "100%"
  rate = "4%"

[[plan]]
id = "overlay"
name = "Platform overlay, EMEA"
period = "quarter"
credit = "region"
regions = ["EMEA"]
products = ["Platform"]
  [[plan.tier]]
  from = "0%"
  rate = "5%"

[[plan]]
id = "logos"
name = "New logos"
period = "quarter"
measure = "deals"
  [[plan.tier]]
  from = "0%"
  to = "100%"
  rate = "500"
  [[plan.tier]]
  from = "100%"
  rate = "800"

[[split]]
opportunity = "O5"
shares = { "R1" = "50%", "R3" = "50%" }
"#;

pub(crate) fn write(dir: &std::path::Path, plans: &str) {
    let w = |name: &str, text: String| std::fs::write(dir.join(name), text).expect("write");
    w("territories.csv", TERRITORIES.into());
    w("reps.csv", REPS.into());
    let mut opps = String::from(
        "opportunity_id,rep_id,account,product,amount,stage,status,created_date,close_date\n",
    );
    let mut history = String::from("opportunity_id,as_of,stage,status,amount,close_date\n");
    let mut bookings =
        String::from("booking_id,rep_id,amount,booked_date,opportunity_id,territory_id\n");
    for (id, rep, product, amount, day, territory) in DEALS {
        opps.push_str(&format!(
            "{id},{rep},A-{id},{product},{amount},Closed Won,won,2024-11-01,{day}\n"
        ));
        history.push_str(&format!("{id},2024-11-01,Qualify,open,{amount},{day}\n"));
        history.push_str(&format!("{id},{day},Closed Won,won,{amount},{day}\n"));
        bookings.push_str(&format!("B-{id},{rep},{amount},{day},{id},{territory}\n"));
    }
    w("opportunities.csv", opps);
    w("opportunity_history.csv", history);
    w("bookings.csv", bookings);
    w(
        "quotas.csv",
        "rep_id,period,amount\nM1,2025-Q1,120000\nS1,2025-Q1,100000\nR3,2025-Q1,1\n".into(),
    );
    w("comp_plans.toml", plans.to_owned());
}

/// Every Q1 2025 statement of `who`, checked the way the commission tests
/// check theirs: descriptions do not change the numbers, and one person's
/// own ledger gives what everyone's does.
async fn q1(who: &[&str]) -> Vec<Statement> {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), PLANS);
    let t = helpers::sqlite().await;
    ingest(
        &t.store,
        &[dir.path().to_path_buf()],
        &helpers::options(date("2025-12-31")),
    )
    .await
    .expect("ingest");
    let data = SalesData::load(&t.store, FiscalCalendar::default())
        .await
        .expect("load");
    let source = t.store.plan_book().await.expect("read").expect("plans");
    let book = parse_plan_book(&source, FiscalCalendar::default()).expect("parse");
    t.finish().await;
    let ledger = Ledger::build(&data, &book);
    let (as_of, until) = (date("2025-03-31"), date("2025-03-31"));
    who.iter()
        .map(|id| {
            let r = data
                .reps
                .iter()
                .position(|x| x.rep_id.as_str() == *id)
                .expect("person");
            let all = statements(&data, &book, &ledger, r, as_of, until, true);
            let bare = statements(&data, &book, &ledger, r, as_of, until, false);
            assert_eq!(
                all.iter().map(|s| s.total).collect::<Vec<_>>(),
                bare.iter().map(|s| s.total).collect::<Vec<_>>()
            );
            let alone = Ledger::for_rep(&data, &book, r);
            assert_eq!(
                statements(&data, &book, &alone, r, as_of, until, true),
                all,
                "{id}"
            );
            all.into_iter()
                .find(|s| s.period == "2025-Q1")
                .unwrap_or_else(|| panic!("{id} has a Q1 statement"))
        })
        .collect()
}

fn credits(s: &Statement) -> Vec<(String, String, String)> {
    s.lines
        .iter()
        .filter(|l| l.kind == LineKind::Credit)
        .map(|l| {
            (
                l.source.clone().unwrap_or_default(),
                format!("{:.2}", l.credit.unwrap_or_default()),
                l.credited_as.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn tiers(s: &Statement) -> Vec<String> {
    s.lines
        .iter()
        .filter(|l| l.kind == LineKind::Tier)
        .map(|l| format!("{:.2}", l.amount))
        .collect()
}

fn row(source: &str, credit: &str, why: &str) -> (String, String, String) {
    (source.into(), credit.into(), why.into())
}

#[tokio::test]
async fn golden_manager_team_credit_quarter() {
    let [m1, m2] = <[Statement; 2]>::try_from(q1(&["M1", "M2"]).await).expect("two");
    // M1's team is R1, R2 and M1. B-O1 60,000 (R1) + B-O2 50,000 (R2) +
    // B-O4 10,000 (M1's own) + R1's half of B-O5 15,000 = 135,000; R3's
    // half of B-O5 is M2's team's. 135,000 / 120,000 = 112.5%.
    assert_eq!(
        credits(&m1),
        vec![
            row("B-O1", "60000.00", "team of M1 (credited to R1)"),
            row("B-O2", "50000.00", "team of M1 (credited to R2)"),
            row("B-O4", "10000.00", "own"),
            row("B-O5", "15000.00", "team of M1 (credited to R1)"),
        ]
    );
    assert_eq!(format!("{:.2}", m1.credited), "135000.00");
    assert_eq!(
        m1.attainment.map(|a| a.to_string()).as_deref(),
        Some("1.125")
    );
    // 120,000 x 2% = 2,400.00; 15,000 x 4% = 600.00.
    assert_eq!(tiers(&m1), ["2400.00", "600.00"]);
    assert_eq!(format!("{:.2}", m1.total), "3000.00");
    // M2: B-O3 40,000 + R3's half of B-O5 15,000 = 55,000, no quota: the
    // first tier's 2% = 1,100.00.
    assert_eq!(format!("{:.2}", m2.credited), "55000.00");
    assert_eq!(format!("{:.2}", m2.total), "1100.00");
}

#[tokio::test]
async fn golden_overlay_on_one_product_in_a_region() {
    let [s1, r1] = <[Statement; 2]>::try_from(q1(&["S1", "R1"]).await).expect("two");
    // EMEA Platform bookings, whole: B-O2 50,000 (T2) + B-O5 30,000 (T1,
    // split between R1 and R3 but the overlay takes the booking) = 80,000.
    // B-O3 is Platform but in NA; B-O1 and B-O4 are Core.
    assert_eq!(
        credits(&s1),
        vec![
            row("B-O2", "50000.00", "overlay, region EMEA"),
            row("B-O5", "30000.00", "overlay, region EMEA"),
        ]
    );
    // 80,000 against 100,000 is 80%; 5% of 80,000 = 4,000.00.
    assert_eq!(format!("{:.2}", s1.total), "4000.00");
    // The rep keeps their own credit: 60,000 + half of 30,000 at 10%.
    assert_eq!(format!("{:.2}", r1.credited), "75000.00");
    assert_eq!(format!("{:.2}", r1.total), "7500.00");
    assert!(credits(&r1).iter().all(|(_, _, why)| why == "own"));
}

#[tokio::test]
async fn golden_plan_counting_deals() {
    let [r3] = <[Statement; 1]>::try_from(q1(&["R3"]).await).expect("one");
    // One whole deal (B-O3) and half of B-O5: 1.5 deals against a quota
    // of 1. Tier 1 pays 1 x 500.00, tier 2 0.5 x 800.00 = 400.00.
    assert_eq!(
        credits(&r3),
        vec![row("B-O3", "1.00", "own"), row("B-O5", "0.50", "own")]
    );
    assert_eq!(tiers(&r3), ["500.00", "400.00"]);
    assert_eq!(format!("{:.2}", r3.total), "900.00");
    let attainment = r3
        .lines
        .iter()
        .find(|l| l.kind == LineKind::Attainment)
        .expect("attainment line");
    assert!(
        attainment
            .description
            .contains("1.5 deals against quota 1 deals"),
        "{}",
        attainment.description
    );
}

#[tokio::test]
async fn credit_rules_misused_are_rejected_with_lines() {
    for (text, expected) in [
        (
            "credit = \"manager\"",
            "credit \"manager\": expected own, team, territory or region",
        ),
        (
            "measure = \"profit\"",
            "measure \"profit\": expected bookings, deals, margin or acv",
        ),
        ("regions = []", "`regions` is empty"),
    ] {
        let plans = format!(
            "[[plan]]\nid = \"p\"\nperiod = \"quarter\"\n{text}\n[[plan.tier]]\nfrom = \"0%\"\nrate = \"5%\"\n"
        );
        let problems = parse_plan_book(&plans, FiscalCalendar::default())
            .expect_err("refused")
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(problems.contains(expected), "{problems}");
        assert!(problems.contains("line 1"), "{problems}");
    }
    // A rate above 100% is refused on bookings, not on deals (it is an
    // amount per deal there).
    let per_deal = |measure: &str| {
        format!(
            "[[plan]]\nid = \"p\"\nperiod = \"quarter\"\nmeasure = \"{measure}\"\n[[plan.tier]]\nfrom = \"0%\"\nrate = \"250\"\n"
        )
    };
    assert!(parse_plan_book(&per_deal("bookings"), FiscalCalendar::default()).is_err());
    assert!(parse_plan_book(&per_deal("deals"), FiscalCalendar::default()).is_ok());
}
