//! Golden statements computed by hand, through the real path: files ->
//! ingest -> store -> plan book -> statement. Each test states its
//! arithmetic in a comment; together they cover every plan rule. Plus the
//! plan file's validation through ingest, and projections on a generated
//! org.

use std::collections::BTreeMap;
use std::fmt::Write;

use attain::commission::Statement;
use attain::commission::credits::{Ledger, statements};
use attain::commission::engine::LineKind;
use attain::domain::{FiscalCalendar, PlanBook};
use attain::features::SalesData;
use attain::ingest::parse_plan_book;
use attain::ingest::{IngestError, ingest};

use crate::helpers::{self, date};

/// A hand-made organisation: manager M1 over R1 and R2 in territory T1.
#[derive(Default)]
pub(crate) struct Org {
    pub(crate) plans: String,
    /// rep -> plan_id in reps.csv
    pub(crate) plan_ids: BTreeMap<&'static str, &'static str>,
    /// (booking_id, rep, amount, day, deal)
    bookings: Vec<(
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    )>,
    /// (deal, rep, product, amount, close day)
    won: Vec<(
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    )>,
    /// (deal, day it was cancelled)
    cancelled: Vec<(&'static str, &'static str)>,
    /// (rep, period, amount)
    quotas: Vec<(&'static str, &'static str, &'static str)>,
    /// R1's hire date (default 2020-01-01).
    hire: Option<&'static str>,
    /// The day every deal was created (default 2024-06-01): the first
    /// record of the store unless a booking comes earlier.
    created: Option<&'static str>,
}

impl Org {
    pub(crate) fn new(plans: &str) -> Org {
        let mut org = Org {
            plans: plans.to_owned(),
            ..Default::default()
        };
        org.plan_ids.insert("R1", "p");
        org.quotas.push(("R1", "2025-Q1", "100000"));
        org.quotas.push(("R1", "2025-Q2", "100000"));
        org
    }

    /// A won deal of `product` booked on `day` to `rep`.
    pub(crate) fn deal(
        &mut self,
        id: &'static str,
        rep: &'static str,
        product: &'static str,
        amount: &'static str,
        day: &'static str,
    ) -> &mut Self {
        self.won.push((id, rep, product, amount, day));
        self.bookings.push((id, rep, amount, day, id));
        self
    }

    pub(crate) fn write(&self, dir: &std::path::Path) {
        let w = |name: &str, text: String| std::fs::write(dir.join(name), text).expect("write");
        w(
            "territories.csv",
            "territory_id,name,region\nT1,North,EMEA\n".into(),
        );
        let mut reps =
            String::from("rep_id,name,manager_id,territory_id,role,hire_date,end_date,plan_id\n");
        reps.push_str("M1,Manager,,T1,manager,2020-01-01,,\n");
        for r in ["R1", "R2"] {
            let plan = self.plan_ids.get(r).copied().unwrap_or("");
            let hire = if r == "R1" { self.hire } else { None }.unwrap_or("2020-01-01");
            let _ = writeln!(reps, "{r},Rep {r},M1,T1,rep,{hire},,{plan}");
        }
        let created = self.created.unwrap_or("2024-06-01");
        w("reps.csv", reps);
        let mut opps = String::from(
            "opportunity_id,rep_id,account,product,amount,stage,status,created_date,close_date,forecast_category\n",
        );
        let mut history = String::from("opportunity_id,as_of,stage,status,amount,close_date\n");
        for (id, rep, product, amount, day) in &self.won {
            let cancelled = self.cancelled.iter().find(|c| c.0 == *id).map(|c| c.1);
            let (stage, status) = if cancelled.is_some() {
                ("Closed Lost", "lost")
            } else {
                ("Closed Won", "won")
            };
            let _ = writeln!(
                opps,
                "{id},{rep},A-{id},{product},{amount},{stage},{status},{created},{day},Closed"
            );
            if created != *day {
                let _ = writeln!(history, "{id},{created},Qualify,open,{amount},{day}");
            }
            let _ = writeln!(history, "{id},{day},Closed Won,won,{amount},{day}");
            if let Some(c) = cancelled {
                let _ = writeln!(history, "{id},{c},Closed Lost,lost,{amount},{day}");
            }
        }
        w("opportunities.csv", opps);
        w("opportunity_history.csv", history);
        let mut bookings =
            String::from("booking_id,rep_id,amount,booked_date,opportunity_id,territory_id\n");
        for (id, rep, amount, day, deal) in &self.bookings {
            let _ = writeln!(bookings, "B-{id},{rep},{amount},{day},{deal},T1");
        }
        w("bookings.csv", bookings);
        let mut quotas = String::from("rep_id,period,amount\n");
        for (rep, period, amount) in &self.quotas {
            let _ = writeln!(quotas, "{rep},{period},{amount}");
        }
        w("quotas.csv", quotas);
        w("comp_plans.toml", self.plans.clone());
    }

    /// Ingests into a fresh SQLite store and returns the data and plans.
    async fn load(&self) -> (SalesData, PlanBook) {
        let dir = tempfile::tempdir().expect("temp dir");
        self.write(dir.path());
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
        let source = t
            .store
            .plan_book()
            .await
            .expect("read")
            .expect("stored plans");
        let book = parse_plan_book(&source, FiscalCalendar::default()).expect("stored plans parse");
        t.finish().await;
        (data, book)
    }

    /// Statements of `rep` as of `as_of` through the period holding `until`.
    pub(crate) async fn statements(&self, rep: &str, as_of: &str, until: &str) -> Vec<Statement> {
        let (data, book) = self.load().await;
        let r = data
            .reps
            .iter()
            .position(|x| x.rep_id.as_str() == rep)
            .expect("rep");
        let ledger = Ledger::build(&data, &book);
        let described = statements(&data, &book, &ledger, r, date(as_of), date(until), true);
        // Projections skip the descriptions: the numbers must not change.
        let bare = statements(&data, &book, &ledger, r, date(as_of), date(until), false);
        let numbers = |s: &Statement| (s.total, s.credited, s.draw_balance, s.lines.len());
        assert_eq!(
            described.iter().map(numbers).collect::<Vec<_>>(),
            bare.iter().map(numbers).collect::<Vec<_>>()
        );
        // One rep's own ledger gives the same statements as everyone's.
        let own = Ledger::for_rep(&data, &book, r);
        let alone = statements(&data, &book, &own, r, date(as_of), date(until), true);
        assert_eq!(alone, described);
        described
    }

    /// The one statement of `rep` for the period holding `day`.
    pub(crate) async fn statement(&self, rep: &str, as_of: &str, day: &str) -> Statement {
        let all = self.statements(rep, as_of, day).await;
        let d = date(day);
        all.into_iter()
            .find(|s| s.start <= d && d <= s.end)
            .expect("a statement for the period")
    }
}

/// One tier: 10% of all credit.
pub(crate) const FLAT_10: &str = "[[plan.tier]]\nfrom = \"0%\"\nrate = \"10%\"";

const TIERS: &str = r#"
  [[plan.tier]]
  from = "0%"
  to = "100%"
  rate = "10%"
  [[plan.tier]]
  from = "100%"
  to = "150%"
  rate = "15%"
  [[plan.tier]]
  from = "150%"
  rate = "6%"
"#;

pub(crate) fn plan(extra: &str, tiers: &str) -> String {
    format!("[[plan]]\nid = \"p\"\nperiod = \"quarter\"\n{extra}\n{tiers}")
}

fn amounts(s: &Statement, kind: LineKind) -> Vec<String> {
    s.lines
        .iter()
        .filter(|l| l.kind == kind)
        .map(|l| format!("{:.2}", l.amount))
        .collect()
}

fn total(s: &Statement) -> String {
    format!("{:.2}", s.total)
}

#[tokio::test]
async fn golden_marginal_tiers_with_accelerator() {
    // 60,000 + 70,000 = 130,000 against 100,000 (130%):
    // 100,000 x 10% = 10,000.00; 30,000 x 15% = 4,500.00; total 14,500.00.
    let mut org = Org::new(&plan("", TIERS));
    org.deal("O1", "R1", "Core", "60000", "2025-01-10").deal(
        "O2",
        "R1",
        "Core",
        "70000",
        "2025-02-20",
    );
    let s = org.statement("R1", "2025-04-15", "2025-02-01").await;
    assert_eq!(s.period, "2025-Q1");
    assert_eq!(format!("{:.2}", s.credited), "130000.00");
    assert_eq!(s.attainment, Some(rust_decimal::Decimal::new(13, 1)));
    assert_eq!(amounts(&s, LineKind::Tier), ["10000.00", "4500.00"]);
    assert_eq!(total(&s), "14500.00");
    // The running total after each line is the sum of the lines so far.
    let mut running = rust_decimal::Decimal::ZERO;
    for l in &s.lines {
        running += l.amount;
        assert_eq!(l.running_total, running);
    }
    assert!(s.complete);
}

#[tokio::test]
async fn golden_retroactive_tiers() {
    // 130% lands in the 15% tier, which then pays on all 130,000: 19,500.00.
    let mut org = Org::new(&plan("mode = \"retroactive\"", TIERS));
    org.deal("O1", "R1", "Core", "60000", "2025-01-10").deal(
        "O2",
        "R1",
        "Core",
        "70000",
        "2025-02-20",
    );
    let s = org.statement("R1", "2025-04-15", "2025-02-01").await;
    assert_eq!(amounts(&s, LineKind::Tier), ["19500.00"]);
    assert_eq!(total(&s), "19500.00");
}

#[tokio::test]
async fn golden_decelerator_above_150_percent() {
    // 180,000: 10,000.00 + 50,000 x 15% = 7,500.00 + 30,000 x 6% = 1,800.00.
    let mut org = Org::new(&plan("", TIERS));
    org.deal("O1", "R1", "Core", "180000", "2025-03-31");
    let s = org.statement("R1", "2025-04-15", "2025-03-31").await;
    assert_eq!(
        amounts(&s, LineKind::Tier),
        ["10000.00", "7500.00", "1800.00"]
    );
    assert_eq!(total(&s), "19300.00");
    assert!(
        s.lines
            .iter()
            .any(|l| l.description.contains("decelerator"))
    );
    assert!(
        s.lines
            .iter()
            .any(|l| l.description.contains("accelerator"))
    );
}

#[tokio::test]
async fn golden_threshold_gate() {
    // Threshold 50%: 49,999.99 pays nothing; in Q2, exactly 50,000 pays
    // 10% from the first dollar: 5,000.00.
    let mut org = Org::new(&plan("threshold = \"50%\"", TIERS));
    org.deal("O1", "R1", "Core", "49999.99", "2025-02-01").deal(
        "O2",
        "R1",
        "Core",
        "50000",
        "2025-05-01",
    );
    let all = org.statements("R1", "2025-07-15", "2025-05-01").await;
    let q1 = all.iter().find(|s| s.period == "2025-Q1").expect("q1");
    assert_eq!(total(q1), "0.00");
    assert_eq!(
        q1.lines
            .iter()
            .filter(|l| l.kind == LineKind::Threshold)
            .count(),
        1
    );
    let q2 = all.iter().find(|s| s.period == "2025-Q2").expect("q2");
    assert_eq!(amounts(q2, LineKind::Tier), ["5000.00"]);
    assert_eq!(total(q2), "5000.00");
}

#[tokio::test]
async fn golden_attainment_cap() {
    // Cap 120%: of 150,000 only 120,000 earns: 10,000.00 + 20,000 x 15%
    // = 3,000.00 -> 13,000.00; the 30,000 above the cap is shown, unpaid.
    let mut org = Org::new(&plan("attainment_cap = \"120%\"", TIERS));
    org.deal("O1", "R1", "Core", "150000", "2025-03-01");
    let s = org.statement("R1", "2025-04-15", "2025-03-01").await;
    let cap = s
        .lines
        .iter()
        .find(|l| l.kind == LineKind::AttainmentCap)
        .expect("cap line");
    assert_eq!(
        cap.credit.map(|c| format!("{c:.2}")),
        Some("30000.00".into())
    );
    assert_eq!(amounts(&s, LineKind::Tier), ["10000.00", "3000.00"]);
    assert_eq!(total(&s), "13000.00");
}

#[tokio::test]
async fn golden_payout_cap() {
    // 130% earns 14,500.00; the plan pays at most 12,000 a quarter: -2,500.00.
    let mut org = Org::new(&plan("payout_cap = \"12000\"", TIERS));
    org.deal("O1", "R1", "Core", "130000", "2025-03-01");
    let s = org.statement("R1", "2025-04-15", "2025-03-01").await;
    assert_eq!(amounts(&s, LineKind::PayoutCap), ["-2500.00"]);
    assert_eq!(total(&s), "12000.00");
}

#[tokio::test]
async fn golden_spiffs_match_product_and_minimum() {
    // Flat 10% on 110,000 = 11,000.00. The SPIFF (500 per Platform deal of
    // at least 50,000) pays on O1 only: O2 is too small, O3 is Core.
    let plans = plan(
        "[[plan.spiff]]\nname = \"Platform\"\namount = \"500\"\nproduct = \"Platform\"\nmin_amount = \"50000\"",
        FLAT_10,
    );
    let mut org = Org::new(&plans);
    org.deal("O1", "R1", "Platform", "60000", "2025-01-05")
        .deal("O2", "R1", "Platform", "30000", "2025-01-06")
        .deal("O3", "R1", "Core", "20000", "2025-01-07");
    let s = org.statement("R1", "2025-04-15", "2025-01-05").await;
    assert_eq!(amounts(&s, LineKind::Spiff), ["500.00"]);
    assert!(
        s.lines
            .iter()
            .any(|l| l.kind == LineKind::Spiff && l.description.contains("B-O1"))
    );
    assert_eq!(total(&s), "11500.00");
}

#[tokio::test]
async fn golden_attainment_bonuses() {
    // Flat 10% on 130,000 = 13,000.00; the 100% bonus (2,000) is reached,
    // the 150% one (3,000) is not: 15,000.00.
    let plans = plan(
        "[[plan.bonus]]\nat = \"100%\"\namount = \"2000\"\n[[plan.bonus]]\nat = \"150%\"\namount = \"3000\"",
        FLAT_10,
    );
    let mut org = Org::new(&plans);
    org.deal("O1", "R1", "Core", "130000", "2025-02-01");
    let s = org.statement("R1", "2025-04-15", "2025-02-01").await;
    assert_eq!(amounts(&s, LineKind::Bonus), ["2000.00"]);
    assert_eq!(total(&s), "15000.00");
}

#[tokio::test]
async fn golden_credited_products_only() {
    // The plan credits Core only: 40,000 of Core counts (40%), the Platform
    // deal is listed as not credited. 10% of 40,000 = 4,000.00.
    let plans = plan("products = [\"Core\"]", FLAT_10);
    let mut org = Org::new(&plans);
    org.deal("O1", "R1", "Core", "40000", "2025-02-01").deal(
        "O2",
        "R1",
        "Platform",
        "60000",
        "2025-02-02",
    );
    let s = org.statement("R1", "2025-04-15", "2025-02-01").await;
    assert_eq!(format!("{:.2}", s.credited), "40000.00");
    let excluded: Vec<_> = s
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Excluded)
        .collect();
    assert_eq!(excluded.len(), 1);
    assert!(
        excluded[0]
            .description
            .contains("product Platform is not credited")
    );
    assert_eq!(total(&s), "4000.00");
}

#[tokio::test]
async fn golden_split_credit_conserves_cents() {
    // 10,000.01 split 60/40: 6,000.006 and 4,000.004 round down to
    // 6,000.00 and 4,000.00; the cent left goes to the larger remainder
    // (R1): 6,000.01 + 4,000.00 = 10,000.01. R1 earns 10% = 600.001 ->
    // 600.00, R2 earns 400.00.
    let mut plans = plan("", FLAT_10);
    plans.push_str("\n[[split]]\nopportunity = \"O1\"\nshares = { R1 = \"60%\", R2 = \"40%\" }\n");
    let mut org = Org::new(&plans);
    org.plan_ids.insert("R2", "p");
    org.quotas.push(("R2", "2025-Q1", "100000"));
    org.deal("O1", "R1", "Core", "10000.01", "2025-02-01");
    let r1 = org.statement("R1", "2025-04-15", "2025-02-01").await;
    let r2 = org.statement("R2", "2025-04-15", "2025-02-01").await;
    assert_eq!(format!("{:.2}", r1.credited), "6000.01");
    assert_eq!(format!("{:.2}", r2.credited), "4000.00");
    assert_eq!(
        r1.credited + r2.credited,
        rust_decimal::Decimal::new(1_000_001, 2)
    );
    assert_eq!(total(&r1), "600.00");
    assert_eq!(total(&r2), "400.00");
    assert!(r1.lines[0].description.contains("60% split of 10000.01"));
}

#[tokio::test]
async fn golden_half_even_rounding_per_line() {
    // 10% of 10.25 is 1.025 -> 1.02 (half to even, not up); in Q2 10% of
    // 10.35 is 1.035 -> 1.04.
    let mut org = Org::new(&plan("", FLAT_10));
    org.deal("O1", "R1", "Core", "10.25", "2025-02-01").deal(
        "O2",
        "R1",
        "Core",
        "10.35",
        "2025-05-01",
    );
    let all = org.statements("R1", "2025-07-15", "2025-05-01").await;
    let by = |p: &str| all.iter().find(|s| s.period == p).map(total);
    assert_eq!(by("2025-Q1"), Some("1.02".into()));
    assert_eq!(by("2025-Q2"), Some("1.04".into()));
}

/// R1 on a monthly 8% plan with a draw of 2,500, from January 2025 only
/// (on it since the data began, the draw would pay every month before).
fn monthly_draw_org(recoverable: bool) -> Org {
    let plans = format!(
        "[[plan]]\nid = \"p\"\nperiod = \"month\"\n[[plan.tier]]\nfrom = \"0%\"\nrate = \"8%\"\n\
         [plan.draw]\namount = \"2500\"\nrecoverable = {recoverable}\n\n\
         [[assignment]]\nrep_id = \"R1\"\nplan = \"p\"\nfrom = \"2025-01-01\"\n"
    );
    let mut org = Org::new(&plans);
    org.plan_ids.remove("R1");
    org
}

#[tokio::test]
async fn golden_non_recoverable_draw() {
    // Monthly plan, 8%, draw 2,500 not recoverable. January: 20,000 earns
    // 1,600.00, topped up by 900.00 to 2,500.00. February: 50,000 earns
    // 4,000.00 and nothing is taken back.
    let mut org = monthly_draw_org(false);
    org.deal("O1", "R1", "Core", "20000", "2025-01-15").deal(
        "O2",
        "R1",
        "Core",
        "50000",
        "2025-02-15",
    );
    let all = org.statements("R1", "2025-03-15", "2025-02-15").await;
    let jan = all.iter().find(|s| s.period == "2025-01").expect("jan");
    assert_eq!(amounts(jan, LineKind::Draw), ["900.00"]);
    assert_eq!(total(jan), "2500.00");
    let feb = all.iter().find(|s| s.period == "2025-02").expect("feb");
    assert!(amounts(feb, LineKind::DrawRecovery).is_empty());
    assert_eq!(total(feb), "4000.00");
}

#[tokio::test]
async fn golden_recoverable_draw_is_recovered() {
    // Same, recoverable. January: 1,600.00 + 900.00 top-up (900 owed).
    // February: 4,000.00 earned, 1,500 above the draw, so the 900 is taken
    // back: 3,100.00. March: 40,000 earns 3,200.00, nothing owed.
    let mut org = monthly_draw_org(true);
    org.deal("O1", "R1", "Core", "20000", "2025-01-15")
        .deal("O2", "R1", "Core", "50000", "2025-02-15")
        .deal("O3", "R1", "Core", "40000", "2025-03-15");
    let all = org.statements("R1", "2025-04-15", "2025-03-15").await;
    let by = |p: &str| all.iter().find(|s| s.period == p).expect("month");
    assert_eq!(total(by("2025-01")), "2500.00");
    assert_eq!(format!("{:.2}", by("2025-01").draw_balance), "900.00");
    assert_eq!(amounts(by("2025-02"), LineKind::DrawRecovery), ["-900.00"]);
    assert_eq!(total(by("2025-02")), "3100.00");
    assert_eq!(total(by("2025-03")), "3200.00");
    assert_eq!(format!("{:.2}", by("2025-03").draw_balance), "0.00");
}

#[tokio::test]
async fn golden_clawback_within_window_only() {
    // Q1: O1 and O2, 50,000 each, booked 1 February: 10% = 10,000.00
    // (5,000.00 each). O1 is cancelled on 10 April (68 days: within the
    // 90-day window): Q2 takes back 5,000.00. O2 is cancelled on 15 June
    // (134 days): kept. Q2 also books 30,000 (3,000.00): -2,000.00 in all.
    let plans = plan("[plan.clawback]\ndays = 90", FLAT_10);
    let mut org = Org::new(&plans);
    org.deal("O1", "R1", "Core", "50000", "2025-02-01")
        .deal("O2", "R1", "Core", "50000", "2025-02-01")
        .deal("O3", "R1", "Core", "30000", "2025-05-01");
    org.cancelled.push(("O1", "2025-04-10"));
    org.cancelled.push(("O2", "2025-06-15"));
    let all = org.statements("R1", "2025-07-15", "2025-05-01").await;
    let q1 = all.iter().find(|s| s.period == "2025-Q1").expect("q1");
    assert_eq!(total(q1), "10000.00");
    let q2 = all.iter().find(|s| s.period == "2025-Q2").expect("q2");
    assert_eq!(amounts(q2, LineKind::Clawback), ["-5000.00"]);
    assert!(
        q2.lines
            .iter()
            .any(|l| l.kind == LineKind::Clawback && l.description.contains("B-O1"))
    );
    assert_eq!(total(q2), "-2000.00");
}

#[tokio::test]
async fn golden_cancelled_in_its_own_period_is_not_credited() {
    // O1 booked 1 February, cancelled 20 March, same quarter: never
    // credited, so there is nothing to claw back. O2 counts: 10% of 40,000.
    let plans = plan("[plan.clawback]\ndays = 90", FLAT_10);
    let mut org = Org::new(&plans);
    org.deal("O1", "R1", "Core", "50000", "2025-02-01").deal(
        "O2",
        "R1",
        "Core",
        "40000",
        "2025-02-02",
    );
    org.cancelled.push(("O1", "2025-03-20"));
    let s = org.statement("R1", "2025-04-15", "2025-02-01").await;
    let excluded: Vec<_> = s
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Excluded)
        .collect();
    assert_eq!(excluded.len(), 1);
    assert!(excluded[0].description.contains("cancelled on 2025-03-20"));
    assert_eq!(total(&s), "4000.00");
}

#[tokio::test]
async fn golden_effective_dated_plan_change() {
    // R1's plan_id is "p" (10%) but an assignment puts them on "q" (20%)
    // from Q2 on: Q1 pays 10% of 50,000 = 5,000.00 under p, Q2 pays 20% of
    // 50,000 = 10,000.00 under q.
    let mut plans = plan("", FLAT_10);
    plans.push_str("\n[[plan]]\nid = \"q\"\nperiod = \"quarter\"\n[[plan.tier]]\nfrom = \"0%\"\nrate = \"20%\"\n");
    plans.push_str("\n[[assignment]]\nrep_id = \"R1\"\nplan = \"q\"\nfrom = \"2025-04-01\"\n");
    let mut org = Org::new(&plans);
    org.deal("O1", "R1", "Core", "50000", "2025-02-01").deal(
        "O2",
        "R1",
        "Core",
        "50000",
        "2025-05-01",
    );
    let all = org.statements("R1", "2025-07-15", "2025-05-01").await;
    let got: Vec<(String, String, String)> = all
        .iter()
        .filter(|s| s.period.starts_with("2025"))
        .map(|s| (s.period.clone(), s.plan_id.clone(), total(s)))
        .collect();
    assert_eq!(
        got,
        [
            ("2025-Q1".to_owned(), "p".to_owned(), "5000.00".to_owned()),
            ("2025-Q2".to_owned(), "q".to_owned(), "10000.00".to_owned())
        ]
    );
}

#[tokio::test]
async fn golden_mid_quarter_switch_pays_each_day_once() {
    // A monthly ramp plan (8%) for January, then the rep's quarterly plan
    // p (10%) from 1 February: p's Q1 runs February-March only, with those
    // months' quota (66,666.66 of the 100,000; January took the odd cent).
    // January: 8% of 10,000 = 800.00. Q1 from February: 10% of 20,000 =
    // 2,000.00; January's booking is not paid again.
    let mut plans = plan("", FLAT_10);
    plans.push_str("\n[[plan]]\nid = \"ramp\"\nperiod = \"month\"\n[[plan.tier]]\nfrom = \"0%\"\nrate = \"8%\"\n");
    plans.push_str("\n[[assignment]]\nrep_id = \"R1\"\nplan = \"ramp\"\nfrom = \"2025-01-01\"\nto = \"2025-01-31\"\n");
    let mut org = Org::new(&plans);
    org.deal("O1", "R1", "Core", "10000", "2025-01-15").deal(
        "O2",
        "R1",
        "Core",
        "20000",
        "2025-02-15",
    );
    let all = org.statements("R1", "2025-04-15", "2025-02-15").await;
    let jan = all.iter().find(|s| s.period == "2025-01").expect("january");
    assert_eq!(
        (jan.plan_id.as_str(), total(jan)),
        ("ramp", "800.00".to_owned())
    );
    let q1 = all.iter().find(|s| s.period == "2025-Q1").expect("q1");
    assert_eq!(q1.plan_id, "p");
    assert_eq!(q1.start, date("2025-02-01"));
    assert_eq!(format!("{:.2}", q1.quota), "66666.66");
    assert_eq!(format!("{:.2}", q1.credited), "20000.00");
    assert_eq!(total(q1), "2000.00");
    // Before the ramp, p applied from the start of the data; its last
    // period ends the day before the ramp starts.
    let before = all
        .iter()
        .rfind(|s| s.end < date("2025-01-01"))
        .expect("2024");
    assert_eq!(before.end, date("2024-12-31"));
}

#[tokio::test]
async fn golden_no_quota_pays_the_first_tier() {
    // No quota for Q3: attainment is undefined, so all 30,000 earns the
    // first tier's 10% (3,000.00) and no bonus is paid.
    let plans = plan("[[plan.bonus]]\nat = \"0%\"\namount = \"100\"", TIERS);
    let mut org = Org::new(&plans);
    org.deal("O1", "R1", "Core", "30000", "2025-08-01");
    let s = org.statement("R1", "2025-10-15", "2025-08-01").await;
    assert_eq!(s.attainment, None);
    assert_eq!(
        s.lines
            .iter()
            .filter(|l| l.kind == LineKind::NoQuota)
            .count(),
        1
    );
    assert_eq!(total(&s), "3000.00");
}

#[tokio::test]
async fn golden_running_period_settles_no_draw_yet() {
    // As of 15 February, the month plan's February statement is running:
    // 10,000 earns 800.00, and the 2,500 draw is not settled until the
    // month ends.
    let mut org = monthly_draw_org(true);
    org.deal("O1", "R1", "Core", "10000", "2025-02-10").deal(
        "O2",
        "R1",
        "Core",
        "90000",
        "2025-02-20",
    );
    let s = org.statement("R1", "2025-02-15", "2025-02-10").await;
    assert!(!s.complete);
    assert_eq!(format!("{:.2}", s.credited), "10000.00");
    assert!(amounts(&s, LineKind::Draw).is_empty());
    assert_eq!(total(&s), "800.00");
}

/// Marginal tiers 8% to 100%, 12% to 150%, 15% above.
const TIERS_8_12_15: &str = r#"
  [[plan.tier]]
  from = "0%"
  to = "100%"
  rate = "8%"
  [[plan.tier]]
  from = "100%"
  to = "150%"
  rate = "12%"
  [[plan.tier]]
  from = "150%"
  rate = "15%"
"#;

#[tokio::test]
async fn golden_data_starting_mid_quarter_keeps_the_whole_quota() {
    // R1 is hired on 1 January; the store's first record is a deal created
    // and won on 1 February. Q1's quota stays 100,000 (the plan is in force
    // from the hire, not from where the data begins): 170,000 is 170%:
    // 100,000 x 8% = 8,000.00; 50,000 x 12% = 6,000.00; 20,000 x 15% =
    // 3,000.00; total 17,000.00 (not 19,833.33 against 66,666.66).
    let mut org = Org::new(&plan("", TIERS_8_12_15));
    org.hire = Some("2025-01-01");
    org.created = Some("2025-02-01");
    org.deal("O1", "R1", "Core", "170000", "2025-02-01");
    let s = org.statement("R1", "2025-04-15", "2025-02-01").await;
    assert_eq!(s.period, "2025-Q1");
    assert_eq!(s.start, date("2025-01-01"));
    assert_eq!(format!("{:.2}", s.quota), "100000.00");
    assert_eq!(
        amounts(&s, LineKind::Tier),
        ["8000.00", "6000.00", "3000.00"]
    );
    assert_eq!(total(&s), "17000.00");
}

#[tokio::test]
async fn golden_data_starting_mid_quarter_with_threshold_bonus_and_cap() {
    // Hired long before the data, which begins on 10 March with R1's only
    // deal: 90,000 against the whole Q1 quota of 100,000 (90%). Threshold
    // 75% is passed; 90,000 x 10% = 9,000.00; the 80% bonus of 1,500 is
    // reached and the 100% one (2,500) is not: 10,500.00; the payout cap
    // of 10,000 takes -500.00: 10,000.00. (Cut to March alone, the quota
    // would be 33,333.33 and every level would be reached.)
    let plans = plan(
        "threshold = \"75%\"\npayout_cap = \"10000\"\n[[plan.bonus]]\nat = \"80%\"\namount = \"1500\"\n[[plan.bonus]]\nat = \"100%\"\namount = \"2500\"",
        TIERS,
    );
    let mut org = Org::new(&plans);
    org.created = Some("2025-03-10");
    org.deal("O1", "R1", "Core", "90000", "2025-03-10");
    let s = org.statement("R1", "2025-04-15", "2025-03-10").await;
    assert_eq!(s.start, date("2025-01-01"));
    assert_eq!(format!("{:.2}", s.quota), "100000.00");
    assert_eq!(amounts(&s, LineKind::Tier), ["9000.00"]);
    assert_eq!(amounts(&s, LineKind::Bonus), ["1500.00"]);
    assert_eq!(amounts(&s, LineKind::PayoutCap), ["-500.00"]);
    assert_eq!(total(&s), "10000.00");
}

#[tokio::test]
async fn golden_data_starting_mid_year_on_a_year_plan() {
    // A year plan; R1 hired 1 March 2025, the data begins on 1 June 2025.
    // The plan is in force from the hire, so FY2025 runs March-December
    // with those months' quota: 100,000 x 1/3 for March (33,333.33, the
    // odd cent going to January) + 100,000 x 3 = 333,333.33. Credit
    // 400,000 (120.00%): 333,333.33 x 10% = 33,333.33 (rounded per line)
    // + 66,666.67 x 15% = 10,000.00; total 43,333.33.
    let year = "[[plan]]\nid = \"p\"\nperiod = \"year\"\n".to_owned() + TIERS;
    let mut org = Org::new(&year);
    org.quotas.push(("R1", "2025-Q3", "100000"));
    org.quotas.push(("R1", "2025-Q4", "100000"));
    org.hire = Some("2025-03-01");
    org.created = Some("2025-06-01");
    org.deal("O1", "R1", "Core", "150000", "2025-06-01").deal(
        "O2",
        "R1",
        "Core",
        "250000",
        "2025-11-01",
    );
    let s = org.statement("R1", "2026-01-15", "2025-06-01").await;
    assert_eq!(s.period, "FY2025");
    assert_eq!(s.start, date("2025-03-01"));
    assert_eq!(format!("{:.2}", s.quota), "333333.33");
    assert_eq!(amounts(&s, LineKind::Tier), ["33333.33", "10000.00"]);
    assert_eq!(total(&s), "43333.33");
}

async fn rejected(plans: &str) -> String {
    let org = Org::new(plans);
    let dir = tempfile::tempdir().expect("temp dir");
    org.write(dir.path());
    let t = helpers::sqlite().await;
    let err = ingest(
        &t.store,
        &[dir.path().to_path_buf()],
        &helpers::options(date("2025-12-31")),
    )
    .await
    .expect_err("must be rejected");
    // Nothing was stored: not the plans, not the other files.
    assert_eq!(t.store.plan_book().await.expect("read"), None);
    assert_eq!(
        t.store
            .count(attain::store::Table::Reps)
            .await
            .expect("count"),
        0
    );
    t.finish().await;
    match err {
        IngestError::Invalid(report) => report.to_string(),
        other => panic!("expected a validation report, got {other}"),
    }
}

#[tokio::test]
async fn invalid_plans_are_rejected_with_lines_and_nothing_is_stored() {
    let overlap = plan(
        "",
        "[[plan.tier]]\nfrom = \"0%\"\nto = \"100%\"\nrate = \"10%\"\n[[plan.tier]]\nfrom = \"90%\"\nrate = \"15%\"",
    );
    let report = rejected(&overlap).await;
    assert!(report.contains("comp_plans.toml"), "{report}");
    assert!(
        report.contains("overlaps the tier below: starts at 90% but the tier below runs to 100%"),
        "{report}"
    );
    // Row 9 is the offending tier's [[plan.tier]] header.
    assert!(
        report.contains("row 9, column plan \"p\" tier 2"),
        "{report}"
    );

    let mut split = plan("", FLAT_10);
    split.push_str("\n[[split]]\nbooking = \"B-O1\"\nshares = { R1 = \"60%\", R2 = \"30%\" }\n");
    let report = rejected(&split).await;
    assert!(
        report.contains("shares add up to 90%, not 100%"),
        "{report}"
    );

    let mut unknown = plan("treshold = \"50%\"", FLAT_10);
    unknown.push_str("\n[[assignment]]\nrep_id = \"R9\"\nplan = \"p\"\nfrom = \"2025-02-01\"\n");
    let report = rejected(&unknown).await;
    assert!(report.contains("treshold"), "{report}");

    let mut misaligned = plan("", FLAT_10);
    misaligned.push_str("\n[[assignment]]\nrep_id = \"R9\"\nplan = \"p\"\nfrom = \"2025-02-01\"\n");
    let report = rejected(&misaligned).await;
    assert!(
        report.contains("is not the first day of a quarter"),
        "{report}"
    );

    let mut unknown_rep = plan("", FLAT_10);
    unknown_rep
        .push_str("\n[[assignment]]\nrep_id = \"R9\"\nplan = \"p\"\nfrom = \"2025-04-01\"\n");
    unknown_rep
        .push_str("\n[[split]]\nbooking = \"B-O1\"\nshares = { R1 = \"50%\", R8 = \"50%\" }\n");
    let report = rejected(&unknown_rep).await;
    assert!(report.contains("unknown rep \"R9\""), "{report}");
    assert!(report.contains("unknown rep \"R8\""), "{report}");
}

#[tokio::test]
async fn reingesting_the_same_plans_changes_nothing() {
    let mut org = Org::new(&plan("", TIERS));
    org.deal("O1", "R1", "Core", "60000", "2025-01-10");
    let dir = tempfile::tempdir().expect("temp dir");
    org.write(dir.path());
    let t = helpers::sqlite().await;
    let paths = [dir.path().to_path_buf()];
    let first = ingest(&t.store, &paths, &helpers::options(date("2025-12-31")))
        .await
        .expect("first");
    assert_eq!(first.tables["comp_plans"].inserted, 1);
    let again = ingest(&t.store, &paths, &helpers::options(date("2025-12-31")))
        .await
        .expect("again");
    assert_eq!(again.tables["comp_plans"].unchanged, 1);
    assert!(again.run_id.is_none(), "nothing changed, no run recorded");
    // A plan file alone, changed, replaces the book.
    std::fs::write(
        dir.path().join("comp_plans.toml"),
        plan("threshold = \"10%\"", TIERS),
    )
    .expect("write");
    let changed = ingest(
        &t.store,
        &[dir.path().join("comp_plans.toml")],
        &helpers::options(date("2025-12-31")),
    )
    .await
    .expect("plans alone");
    assert_eq!(changed.tables["comp_plans"].updated, 1);
    assert!(
        t.store
            .plan_book()
            .await
            .expect("read")
            .expect("book")
            .contains("threshold")
    );
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn projections_add_up_and_what_ifs_move_the_right_way() {
    use attain::features::Level;
    use attain::jobs::commissions::{CommissionParams, WhatIf, projection, statement};

    let org = helpers::small_org(16, 24, 9);
    let models = tempfile::tempdir().expect("temp dir");
    let settings = crate::forecast::settings(models.path());
    let t = helpers::sqlite().await;
    crate::forecast::load(&t.store, org.path()).await;
    let at = |level: Level, period: Option<&str>| CommissionParams {
        level,
        period: period.map(|p| attain::domain::Period::parse(p).expect("period")),
        paths: attain::domain::Paths::new(200).expect("paths"),
        ..CommissionParams::default()
    };
    let quick = crate::forecast::quick();

    // The period after the data: every level's mean is the sum of its reps'.
    let reps = projection(&t.store, &settings, &at(Level::Rep, None), quick)
        .await
        .expect("reps");
    let company = projection(&t.store, &settings, &at(Level::Company, None), quick)
        .await
        .expect("company");
    assert!(!reps.payouts.is_empty());
    let sum: i64 = reps.payouts.iter().map(|p| p.mean.cents()).sum();
    assert_eq!(company.payouts.len(), 1);
    assert_eq!(company.payouts[0].mean.cents(), sum);
    for p in &reps.payouts {
        assert!(p.p10 <= p.p50 && p.p50 <= p.p90, "{p:?}");
        assert_eq!(p.rep_id.as_deref(), Some(p.id.as_str()));
    }
    // Managers on team credit and the overlay are paid from the same
    // paths, with a spread, and counted once in the accrual above.
    for (who, plan) in [("M00", "manager"), ("S001", "platform_overlay")] {
        let paid: Vec<_> = reps
            .payouts
            .iter()
            .filter(|p| p.id.starts_with(who) && p.plan_id.as_deref() == Some(plan))
            .collect();
        assert!(!paid.is_empty(), "{who} on {plan}");
        assert!(paid.iter().all(|p| p.mean.cents() > 0), "{paid:?}");
        assert!(paid.iter().any(|p| p.p90 > p.p10), "{paid:?}");
    }
    let managers = projection(&t.store, &settings, &at(Level::Manager, None), quick)
        .await
        .expect("managers");
    assert!(managers.payouts.iter().all(|p| p.level == Level::Manager));

    // A quarter already over pays its statements on every path.
    let last = reps.as_of;
    let done = attain::domain::FiscalCalendar::default().quarter_of(last - chrono::Days::new(120));
    let past = projection(
        &t.store,
        &settings,
        &at(Level::Rep, Some(&done.to_string())),
        quick,
    )
    .await
    .expect("past quarter");
    for p in &past.payouts {
        assert_eq!(p.p10, p.earned_to_date);
        assert_eq!(p.p90, p.earned_to_date);
        let rep = CommissionParams {
            id: p.rep_id.clone(),
            ..at(Level::Rep, Some(&done.to_string()))
        };
        let st = statement(&t.store, &settings, &rep)
            .await
            .expect("statement");
        assert_eq!(st.total, p.earned_to_date, "{}", p.id);
    }

    // What-ifs on the largest open deal: a win never lowers the expected
    // payout, a loss never raises it.
    let data = SalesData::load(&t.store, attain::domain::FiscalCalendar::default())
        .await
        .expect("load");
    let open = attain::features::deals::open_states(&data, last);
    let deal = open
        .iter()
        .filter(|d| data.reps[d.rep as usize].plan_id.is_some())
        .max_by(|a, b| a.amount.total_cmp(&b.amount))
        .expect("an open deal");
    let id = data.opps[deal.opp as usize].id.clone();
    for (what, up) in [
        (WhatIf::Win(id.clone()), true),
        (WhatIf::Lose(id.clone()), false),
    ] {
        let params = CommissionParams {
            what_if: Some(what),
            ..at(Level::Rep, None)
        };
        let w = projection(&t.store, &settings, &params, quick)
            .await
            .expect("what-if")
            .what_if
            .expect("what-if result");
        assert!(!w.reps.is_empty());
        // The owner on their own credit, and the managers above them on
        // team credit.
        let owner = data.reps[deal.rep as usize].rep_id.as_str();
        assert!(
            w.reps
                .iter()
                .any(|r| r.rep_id == owner && r.credited_as == "own"),
            "{:?}",
            w.reps
        );
        assert!(
            w.reps.iter().any(|r| r.rep_id.starts_with("M00")
                && r.credited_as.starts_with("team of")
                && r.mean_change.cents() != 0),
            "{:?}",
            w.reps
        );
        for r in &w.reps {
            if up {
                assert!(r.mean_change.cents() >= 0, "{r:?}");
                assert!(r.statement_change.cents() >= 0, "{r:?}");
            } else {
                assert!(r.mean_change.cents() <= 0, "{r:?}");
                assert_eq!(r.statement_change.cents(), 0);
            }
        }
    }
    t.finish().await;
}
