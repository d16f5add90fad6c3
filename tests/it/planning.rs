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
