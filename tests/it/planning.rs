//! Planning: quota proposals that add up to the target to the cent under
//! every method and with pinned reps, P(attain) checked by hand on a small
//! organisation, a comp scenario with the current book reproducing the
//! projection to the cent, the territory balance adding up, and a proposal
//! that `attain ingest` applies.

use attain::domain::{FiscalCalendar, Money, Paths, Period};
use attain::features::{Level, SalesData};
use attain::jobs::plan::{self, PlanParams, QuotaParams};
use attain::planning::quotas::QuotaMethod;
use attain::planning::{QuotaRequest, RepPeriodPaths, carriers, propose};

use crate::helpers::{self, date};

/// Three sellers under one manager, with bookings a year before the
/// planned quarter: R1 12,000, R2 6,000, R3 hired a month before it.
async fn three_reps() -> (helpers::TestStore, SalesData) {
    let dir = tempfile::tempdir().expect("temp dir");
    let w = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    w(
        "territories.csv",
        "territory_id,name,region\nT1,North,EMEA\n",
    );
    w(
        "reps.csv",
        "rep_id,name,manager_id,territory_id,role,hire_date
M1,Manager,,T1,manager,2020-01-01
R1,One,M1,T1,rep,2020-01-01
R2,Two,M1,T1,rep,2020-01-01
R3,Three,M1,T1,rep,2025-12-01
",
    );
    w(
        "bookings.csv",
        "booking_id,rep_id,amount,booked_date
B1,R1,12000,2025-03-10
B2,R2,6000,2025-06-10
B3,M1,1000,2025-07-10
",
    );
    let t = helpers::sqlite().await;
    attain::ingest::ingest(
        &t.store,
        &[dir.path().to_path_buf()],
        &helpers::options(date("2025-12-31")),
    )
    .await
    .expect("ingest");
    let data = SalesData::load(&t.store, FiscalCalendar::default())
        .await
        .expect("load");
    (t, data)
}

/// Four paths per person (M1, R1, R2, R3 in store order).
fn paths(data: &SalesData, per_rep: &[(&str, [f32; 4])]) -> RepPeriodPaths {
    let mut reps = vec![0.0f32; data.reps.len() * 4];
    for (id, values) in per_rep {
        let r = data
            .reps
            .iter()
            .position(|p| p.rep_id.as_str() == *id)
            .expect("person");
        reps[r * 4..r * 4 + 4].copy_from_slice(values);
    }
    RepPeriodPaths { paths: 4, reps }
}

fn request(target: i64, method: QuotaMethod, pins: &[(&str, i64)]) -> QuotaRequest {
    QuotaRequest {
        period: Period::parse("2026-Q1").expect("period"),
        as_of: date("2025-12-31"),
        target_cents: target,
        method,
        pins: pins.iter().map(|(r, c)| ((*r).to_owned(), *c)).collect(),
    }
}

#[tokio::test]
async fn proposals_add_up_and_p_attain_is_the_share_of_paths_at_quota() {
    let (t, data) = three_reps().await;
    let has_reports: Vec<bool> = data
        .reps
        .iter()
        .map(|r| r.rep_id.as_str() == "M1")
        .collect();
    let span = (date("2026-01-01"), date("2026-03-31"));
    let who = carriers(&data, None, &has_reports, span);
    // The manager carries no share of the target.
    let ids: Vec<&str> = who.iter().map(|&r| data.reps[r].rep_id.as_str()).collect();
    assert_eq!(ids, ["R1", "R2", "R3"]);
    let p = paths(
        &data,
        &[
            ("R1", [2000.0, 3000.0, 4000.0, 5000.0]),
            ("R2", [1000.0, 1500.0, 2000.0, 2500.0]),
            ("R3", [0.0, 500.0, 1000.0, 1500.0]),
            ("M1", [100.0, 100.0, 100.0, 100.0]),
        ],
    );
    // Every method and pins: the sum is the target to the cent.
    for method in [
        QuotaMethod::History,
        QuotaMethod::Capacity,
        QuotaMethod::Blend,
        QuotaMethod::Equal,
    ] {
        for pins in [&[][..], &[("R2", 150_001)][..]] {
            let out =
                propose(&data, &p, &who, &request(1_000_001, method, pins), "v").expect("proposal");
            let sum: i64 = out.reps.iter().map(|r| r.quota.cents()).sum();
            assert_eq!(sum, 1_000_001, "{method:?} {pins:?}");
            if let Some((_, pinned)) = pins.first() {
                let r2 = out.reps.iter().find(|r| r.rep_id == "R2").expect("R2");
                assert_eq!((r2.quota.cents(), r2.pinned), (*pinned, true));
            }
        }
    }
    // History by hand: the data starts in March, so R1 and R2 were seen
    // ten months: run-rates 1,200 and 600; R3, a month in seat, gets the
    // median (1,200) at the ramp of a first month (25%) = 300. Weights
    // 4:2:1 share 7,000.00 as 4,000.00, 2,000.00, 1,000.00.
    let out = propose(
        &data,
        &p,
        &who,
        &request(700_000, QuotaMethod::History, &[]),
        "v",
    )
    .expect("proposal");
    let quotas: Vec<(String, String)> = out
        .reps
        .iter()
        .map(|r| (r.rep_id.clone(), r.quota.to_string()))
        .collect();
    assert_eq!(
        quotas,
        [
            ("R1".to_owned(), "4000.00".to_owned()),
            ("R2".to_owned(), "2000.00".to_owned()),
            ("R3".to_owned(), "1000.00".to_owned()),
        ]
    );
    // P(attain) by hand: R1 reaches 4,000 on 2 paths of 4, R2 2,000 on 2,
    // R3 1,000 on 2.
    let chances: Vec<f64> = out.reps.iter().map(|r| r.p_attain).collect();
    assert_eq!(chances, [0.5, 0.5, 0.5]);
    assert_eq!(out.fairness.sd, 0.0);
    assert_eq!(out.fairness.expected_at_quota, 1.5);
    // Equal quotas (2,333.34, 2,333.33, 2,333.33): R1 on 3 paths, R2 on 1
    // (2,500), R3 on none.
    assert_eq!(out.equal_quotas.expected_at_quota, 1.0);
    assert!(out.equal_quotas.sd > out.fairness.sd);
    // The company's paths (everyone, the manager too): 3,100, 5,100,
    // 7,100, 9,100 against 7,000: half of them.
    assert_eq!(out.p_hit_target, 0.5);

    // What cannot be planned is refused, naming the setting.
    for (req, expected) in [
        (request(0, QuotaMethod::History, &[]), "target"),
        (
            request(100, QuotaMethod::History, &[("M1", 10)]),
            "M1 carries no quota",
        ),
        (
            request(100, QuotaMethod::History, &[("R1", 101)]),
            "more than the target",
        ),
        (
            request(100, QuotaMethod::History, &[("R1", 10), ("R1", 10)]),
            "pinned twice",
        ),
    ] {
        let err = propose(&data, &p, &who, &req, "v")
            .expect_err("refused")
            .to_string();
        assert!(err.contains(expected), "{expected}: {err}");
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plans_read_one_forecast_and_the_current_book_reproduces_the_projection() {
    use attain::jobs::commissions::{CommissionParams, projection};

    let org = helpers::small_org(16, 24, 9);
    let models = tempfile::tempdir().expect("temp dir");
    let settings = crate::forecast::settings(models.path());
    let t = helpers::sqlite().await;
    crate::forecast::load(&t.store, org.path()).await;
    let quick = crate::forecast::quick();
    let paths = Paths::new(200).expect("paths");
    let forecast = PlanParams {
        paths,
        ..PlanParams::default()
    };

    // Quotas: the target to the cent, under each method, pins kept.
    let mut spreads = Vec::new();
    for method in [
        QuotaMethod::History,
        QuotaMethod::Capacity,
        QuotaMethod::Blend,
    ] {
        let params = QuotaParams {
            plan: forecast,
            target: Money::from_cents(123_456_789),
            method,
            pins: vec![("R00002".to_owned(), Money::from_cents(5_000_000))],
        };
        let out = plan::quotas(&t.store, &settings, &params, quick)
            .await
            .expect("proposal");
        let sum: i64 = out.reps.iter().map(|r| r.quota.cents()).sum();
        assert_eq!(sum, 123_456_789, "{method:?}");
        assert!(out.reps.iter().all(|r| !r.rep_id.starts_with('M')));
        assert!(
            out.reps.iter().all(|r| r.rep_id != "S001"),
            "the overlay carries no share"
        );
        assert!(out.reps.iter().all(|r| (0.0..=1.0).contains(&r.p_attain)));
        spreads.push((method, out.fairness.sd, out.equal_quotas.sd));
        if method == QuotaMethod::History {
            // The proposal as a quotas.csv that ingest applies.
            let dir = tempfile::tempdir().expect("temp dir");
            std::fs::write(
                dir.path().join("quotas.csv"),
                attain::output::quotas_csv(&out),
            )
            .expect("write");
            attain::ingest::ingest(
                &t.store,
                &[dir.path().to_path_buf()],
                &helpers::options(date("2030-01-01")),
            )
            .await
            .expect("the proposal ingests");
            let stored: i64 = t
                .store
                .load_quotas()
                .await
                .expect("quotas")
                .iter()
                .filter(|q| q.period == out.period && out.reps.iter().any(|r| r.rep_id == q.rep_id))
                .map(|q| q.amount_cents)
                .sum();
            assert_eq!(stored, 123_456_789);
        }
    }
    let history = spreads[0];
    assert!(
        history.1 < history.2,
        "history spreads P(attain) less than equal quotas: {spreads:?}"
    );

    // A scenario with the current book: both sides equal the projection.
    let current = t.store.plan_book().await.expect("read").expect("plans");
    let scenario = plan::comp(&t.store, &settings, &current, &forecast, quick)
        .await
        .expect("scenario");
    let projected = projection(
        &t.store,
        &settings,
        &CommissionParams {
            level: Level::Rep,
            paths,
            ..CommissionParams::default()
        },
        quick,
    )
    .await
    .expect("projection");
    let accrual: i64 = projected.payouts.iter().map(|p| p.mean.cents()).sum();
    assert_eq!(scenario.current.mean.cents(), accrual);
    assert_eq!(scenario.candidate.mean.cents(), accrual);
    assert_eq!(scenario.change.cents(), 0);
    assert!(scenario.reps.iter().all(|r| r.change.cents() == 0));
    for p in &projected.payouts {
        let r = scenario
            .reps
            .iter()
            .find(|r| r.rep_id == p.id)
            .expect("paid");
        assert_eq!(r.current_mean, p.mean, "{}", p.id);
    }
    // A richer candidate costs more.
    let richer = current.replace("rate = \"1.5%\"", "rate = \"3%\"");
    assert_ne!(richer, current);
    let scenario = plan::comp(&t.store, &settings, &richer, &forecast, quick)
        .await
        .expect("scenario");
    assert!(scenario.change.cents() > 0, "{:?}", scenario.change);
    assert!(
        scenario.reps[0].rep_id.starts_with('M'),
        "{:?}",
        scenario.reps[0]
    );

    // Territories: every carrier in one, bookings adding up to the year's.
    let report = plan::territories(&t.store, &settings, &forecast, quick)
        .await
        .expect("territories");
    assert!(!report.territories.is_empty());
    let shares: f64 = report.territories.iter().map(|x| x.share_of_bookings).sum();
    assert!((shares - 1.0).abs() < 1e-9, "{shares}");
    t.finish().await;
}

#[tokio::test]
async fn territory_balance_by_hand_with_a_rep_who_moved() {
    // T1 has two sellers and a fifth of the year's bookings (over-served),
    // T2 one seller and three fifths (under-served), T3 one seller and a
    // fifth (balanced: a quarter of the reps for a fifth of the bookings
    // is a ratio of 1.25, the edge). R4 moved from T2 to T3 on 1
    // September: their May booking counts for T2, their seat for T3.
    let (t, data) = helpers::ingested(
        &[
            (
                "territories.csv",
                "territory_id,name,region\nT1,North,EMEA\nT2,South,EMEA\nT3,West,NA\n",
            ),
            (
                "reps.csv",
                "rep_id,name,manager_id,territory_id,role,hire_date
M1,Manager,,T1,manager,2020-01-01
R1,One,M1,T1,rep,2020-01-01
R2,Two,M1,T1,rep,2020-01-01
R3,Three,M1,T2,rep,2020-01-01
R4,Four,M1,T3,rep,2020-01-01
",
            ),
            (
                "org_history.csv",
                "rep_id,from,manager_id,territory_id\nR4,2024-01-01,,T2\nR4,2025-09-01,,T3\n",
            ),
            (
                "bookings.csv",
                "booking_id,rep_id,amount,booked_date
B0,R1,99000,2024-12-31
B1,R1,10000,2025-03-10
B2,R2,10000,2025-06-10
B3,R3,50000,2025-07-10
B4,R4,10000,2025-05-01
B5,R4,20000,2025-10-01
",
            ),
            (
                "opportunities.csv",
                "opportunity_id,rep_id,amount,stage,status,created_date,close_date
O1,R1,15000,Proposal,open,2025-11-01,2026-02-15
",
            ),
        ],
        "2025-12-31",
    )
    .await;
    t.finish().await;
    let index = |id: &str| {
        data.reps
            .iter()
            .position(|p| p.rep_id.as_str() == id)
            .expect("person")
    };
    let carriers: Vec<usize> = ["R1", "R2", "R3", "R4"].map(index).to_vec();
    let mut quota = vec![0i64; data.reps.len()];
    for (id, cents) in [
        ("R1", 500_000),
        ("R2", 500_000),
        ("R3", 1_000_000),
        ("R4", 1_000_000),
    ] {
        quota[index(id)] = cents;
    }
    let p50 = |t: &str| if t == "T2" { 4_200_000 } else { 0 };
    let report = attain::planning::territories::balance(
        &data,
        date("2025-12-31"),
        "2026-Q1".into(),
        &carriers,
        &quota,
        &p50,
    );
    let rows: Vec<(&str, usize, i64, i64, &str)> = report
        .territories
        .iter()
        .map(|t| {
            (
                t.territory_id.as_str(),
                t.reps,
                t.bookings.cents(),
                t.bookings_per_rep.map_or(0, Money::cents),
                t.served.as_str(),
            )
        })
        .collect();
    // B0 is a day older than the year to 31 December 2025: left out.
    assert_eq!(
        rows,
        [
            ("T1", 2, 2_000_000, 1_000_000, "over-served"),
            ("T2", 1, 6_000_000, 6_000_000, "under-served"),
            ("T3", 1, 2_000_000, 2_000_000, "balanced"),
        ]
    );
    let t1 = &report.territories[0];
    assert_eq!((t1.share_of_reps, t1.share_of_bookings), (0.5, 0.2));
    // 15,000 of open pipeline over T1's 10,000 quota; none elsewhere.
    assert_eq!(t1.pipeline.cents(), 1_500_000);
    assert_eq!(t1.coverage, Some(1.5));
    assert_eq!(report.territories[1].coverage, Some(0.0));
    assert_eq!(report.territories[1].forecast_p50.cents(), 4_200_000);
    // Bookings per rep 10,000, 60,000, 20,000: mean 30,000, population
    // sd sqrt(14e8 / 3) = 21,602.47, cv 0.72008; coverage 1.5, 0, 0: sd
    // sqrt(0.5) over a mean of 0.5 = 1.41421.
    assert!((report.spread.bookings_per_rep_cv - 0.720_082).abs() < 1e-6);
    assert!((report.spread.coverage_cv - std::f64::consts::SQRT_2).abs() < 1e-9);
    assert_eq!(report.spread.bookings_per_rep_min.cents(), 1_000_000);
    assert_eq!(report.spread.bookings_per_rep_max.cents(), 6_000_000);
}

#[tokio::test]
async fn tier_shares_and_cost_of_a_scenario_by_hand() {
    // Three sellers on one plan with a 10,000 quota for 2026-Q1: 10% to
    // quota, 15% to 150%, 5% above. Four paths each, all booked in January.
    let (t, data) = helpers::ingested(
        &[
        ("territories.csv",
        "territory_id,name,region\nT1,North,EMEA\n",
    ),
        ("reps.csv",
        "rep_id,name,manager_id,territory_id,role,hire_date,end_date,plan_id
M1,Manager,,T1,manager,2020-01-01,,
R1,One,M1,T1,rep,2020-01-01,,ae
R2,Two,M1,T1,rep,2020-01-01,,ae
R3,Three,M1,T1,rep,2020-01-01,,ae
",
    ),
        ("bookings.csv",
        "booking_id,rep_id,amount,booked_date\nB1,R1,1000,2025-06-10\nB2,R2,1000,2025-07-10\nB3,R3,1000,2025-08-10\n",
    ),
        ("quotas.csv",
        "rep_id,period,amount\nR1,2026-Q1,10000\nR2,2026-Q1,10000\nR3,2026-Q1,10000\n",
    ),
        ("comp_plans.toml",
        r#"
[[plan]]
id = "ae"
period = "quarter"
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
  rate = "5%"
"#,
    ),
        ],
        "2025-12-31",
    )
    .await;
    let source = t.store.plan_book().await.expect("read").expect("plans");
    let book = attain::ingest::parse_plan_book(&source, FiscalCalendar::default()).expect("book");
    t.finish().await;
    let per_rep = [
        ("R1", [5_000.0, 8_000.0, 9_000.0, 20_000.0]),
        ("R2", [9_000.0, 9_500.0, 9_500.0, 9_800.0]),
        ("R3", [16_000.0, 17_000.0, 18_000.0, 19_000.0]),
    ];
    let quarter = paths(&data, &per_rep);
    let month = |m: &str, all: bool| attain::forecast::PeriodPaths {
        period: Period::parse(m).expect("month"),
        paths: 4,
        reps: if all {
            quarter.reps.clone()
        } else {
            vec![0.0; quarter.reps.len()]
        },
    };
    let months = [
        month("2026-01", true),
        month("2026-02", false),
        month("2026-03", false),
    ];
    let as_of = date("2025-12-31");
    let ledger = attain::commission::credits::Ledger::build(&data, &book);
    let sources = attain::commission::project::Sources::new(&data, as_of);
    let projected = attain::commission::project::project_reps(
        &data,
        &book,
        &ledger,
        &sources,
        as_of,
        (date("2026-01-01"), date("2026-03-31")),
        &attain::commission::project::MonthPaths {
            first: attain::features::month_idx(date("2026-01-01")),
            months: &months,
            paths: 4,
        },
        &attain::commission::project::as_worked_out,
    );
    let side = attain::planning::scenario::summarise(&book, &projected, &quarter);
    // Medians (the third of four sorted paths): R1 9,000 = 90%, tier 1;
    // R2 9,500 = 95%, tier 1; R3 18,000 = 180%, tier 3. No one in tier 2.
    let tiers: Vec<(usize, usize)> = side.tiers.iter().map(|s| (s.tier, s.reps)).collect();
    assert_eq!(tiers, [(1, 2), (3, 1)]);
    assert!((side.tiers[0].share - 2.0 / 3.0).abs() < 1e-12);
    assert!((side.at_or_above_quota - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(side.reps_paid, 3);
    // R1's payouts: 500, 800, 900, and 1,000 + 15% of 5,000 + 5% of 5,000
    // = 2,000: a mean of 1,050.00.
    let r1 = data
        .reps
        .iter()
        .position(|p| p.rep_id.as_str() == "R1")
        .expect("R1");
    let (p, plan) = projected[r1].as_ref().expect("R1 is paid");
    assert_eq!(plan, "ae");
    assert_eq!(p.paths, vec![50_000, 80_000, 90_000, 200_000]);
    // R2: 900, 950, 950, 980 = 3,780 / 4 = 945.00. R3: 1,000 + 750 +
    // 5% of (16,000 - 15,000) = 1,800; 1,850; 1,900; 1,950: mean 1,875.00.
    // Together 1,050 + 945 + 1,875 = 3,870.00.
    assert_eq!(side.mean.cents(), 387_000);
}
