//! The forecast engine end to end: train, forecast, backtest, on both
//! back-ends, with the properties a leader relies on (levels add up, runs
//! repeat, the past does not see the future).

use std::collections::BTreeMap;
use std::path::Path;

use attain::config::{RawSettings, Settings};
use attain::domain::Money;
use attain::domain::{BacktestPaths, Horizon, Origins, Paths};
use attain::features::Level;
use attain::forecast::ForecastRow;
use attain::forecast::backtest::BacktestParams;
use attain::ingest;
use attain::jobs::{self, ForecastParams, ValidTrainParams};
use attain::scoring::ScoringParams;
use attain::store::{ForecastFilter, Store};

use crate::helpers::{self, date, read_csv, write_csv};

pub(crate) fn settings(models: &Path) -> Settings {
    RawSettings {
        models_dir: Some(models.to_owned()),
        ..RawSettings::default()
    }
    .validate()
    .expect("settings")
}

pub(crate) fn quick() -> ValidTrainParams {
    ValidTrainParams {
        backtest: BacktestParams {
            horizon: Horizon::new(6).expect("a horizon"),
            origins: Origins::new(6).expect("origins"),
            paths: BacktestPaths::new(50).expect("paths"),
            seed: 1,
            max_training_rows: 20_000,
            max_origin_fit_rows: 20_000,
        },
        scoring: ScoringParams::default(),
    }
}

pub(crate) async fn load(store: &Store, dir: &Path) {
    ingest::ingest(
        store,
        &[dir.to_owned()],
        &helpers::options(date("2030-01-01")),
    )
    .await
    .expect("ingest");
}

fn cents(rows: &[ForecastRow], level: Level, period: &str) -> i64 {
    rows.iter()
        .filter(|r| r.level == level && r.period == period)
        .map(|r| r.mean.cents())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn levels_add_up_runs_repeat_and_are_stored() {
    let org = helpers::small_org(24, 26, 5);
    for backend in helpers::backends().await {
        let models = tempfile::tempdir().unwrap();
        let settings = settings(models.path());
        let store = &backend.store;
        load(store, org.path()).await;
        let params = ForecastParams {
            as_of: None,
            horizon: Horizon::new(6).expect("a horizon"),
            paths: Paths::new(200).expect("paths"),
            seed: 11,
        };
        let job = jobs::forecast(store, &settings, params, quick())
            .await
            .expect("forecast");
        assert!(job.trained, "no model was registered, so one is trained");
        let rows = &job.run.forecasts;
        let periods: Vec<&str> = rows
            .iter()
            .filter(|r| r.level == Level::Company)
            .map(|r| r.period.as_str())
            .collect();
        assert_eq!(
            periods.iter().filter(|p| !p.contains('Q')).count(),
            6,
            "{periods:?}"
        );
        assert!(
            periods.iter().any(|p| p.contains('Q')),
            "a whole quarter lies in six months"
        );
        for period in &periods {
            let company = cents(rows, Level::Company, period);
            assert_eq!(
                company,
                cents(rows, Level::Rep, period),
                "{} {period}: reps add up",
                backend.name
            );
            assert_eq!(
                cents(rows, Level::Region, period),
                cents(rows, Level::Territory, period),
                "{period}: territories add up to regions"
            );
            assert!(company > 0);
        }
        for r in rows {
            assert!(r.p10 <= r.p50 && r.p50 <= r.p90, "{r:?}");
            assert!(r.p10 >= Money::from_cents(0));
            assert_eq!(r.rep_id.is_some(), r.level == Level::Rep);
        }
        // Managers' forecasts cover their whole team.
        let manager_rows = rows.iter().filter(|r| r.level == Level::Manager).count();
        assert!(manager_rows > 0);

        // Same model, seed and data: the same forecast.
        let again = jobs::forecast(store, &settings, params, quick())
            .await
            .expect("again");
        assert!(!again.trained, "the registered model is reused");
        assert_ne!(again.run.run_id, job.run.run_id);
        assert_eq!(&again.run.forecasts, rows);

        // Stored and read back, whole and filtered.
        let stored = jobs::stored(store, Some(job.run.run_id), &ForecastFilter::default())
            .await
            .expect("stored");
        assert_eq!(&stored.forecasts, rows);
        assert_eq!(stored.model_version, job.run.model_version);
        assert!(
            !stored.backtest.is_empty(),
            "the backtest is stored with the run"
        );
        let one = jobs::stored(
            store,
            None,
            &ForecastFilter {
                level: Some("company".into()),
                period: Some(periods[0].to_owned()),
                ..ForecastFilter::default()
            },
        )
        .await
        .expect("latest");
        assert_eq!(one.run_id, again.run.run_id);
        assert_eq!(one.forecasts.len(), 1);
        backend.finish().await;
    }
}

/// Keeps only what was known on `cut`: deals created by then, snapshots
/// and bookings up to then.
pub(crate) fn truncate(from: &Path, to: &Path, cut: &str) {
    for file in ["territories.csv", "reps.csv", "quotas.csv"] {
        std::fs::copy(from.join(file), to.join(file)).unwrap();
    }
    let keep = |file: &str, column: &str| {
        let (header, rows) = read_csv(&from.join(file));
        let i = header.iter().position(|h| h == column).unwrap();
        let kept: Vec<Vec<String>> = rows.into_iter().filter(|r| r[i].as_str() <= cut).collect();
        write_csv(&to.join(file), &header, &kept);
        kept
    };
    let kept = keep("opportunities.csv", "created_date");
    let ids: std::collections::HashSet<String> = kept.into_iter().map(|r| r[0].clone()).collect();
    keep("opportunity_history.csv", "as_of");
    let (header, rows) = read_csv(&to.join("opportunities.csv"));
    // A deal's current row must not tell its future: take its state from
    // its last snapshot by the cut.
    let (h_header, history) = read_csv(&to.join("opportunity_history.csv"));
    let mut last: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in history {
        last.insert(row[0].clone(), row);
    }
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let hcol = |name: &str| h_header.iter().position(|h| h == name).unwrap();
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .filter(|r| ids.contains(&r[0]) && last.contains_key(&r[0]))
        .map(|mut r| {
            let snap = &last[&r[0]];
            for name in ["stage", "status", "amount", "close_date"] {
                r[col(name)] = snap[hcol(name)].clone();
            }
            r[col("forecast_category")] =
                attain::sim::forecast_category(&snap[hcol("stage")]).to_owned();
            r
        })
        .collect();
    write_csv(&to.join("opportunities.csv"), &header, &rows);
    let (b_header, bookings) = read_csv(&from.join("bookings.csv"));
    let day = b_header.iter().position(|h| h == "booked_date").unwrap();
    let opp = b_header.iter().position(|h| h == "opportunity_id").unwrap();
    let kept: Vec<Vec<String>> = bookings
        .into_iter()
        .filter(|r| r[day].as_str() <= cut && (r[opp].is_empty() || ids.contains(&r[opp])))
        .collect();
    write_csv(&to.join("bookings.csv"), &b_header, &kept);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_past_forecast_sees_nothing_after_its_day() {
    let org = helpers::small_org(20, 26, 8);
    let cut = "2024-08-31";
    let known = tempfile::tempdir().unwrap();
    truncate(org.path(), known.path(), cut);

    let full = helpers::sqlite().await;
    load(&full.store, org.path()).await;
    let past = helpers::sqlite().await;
    load(&past.store, known.path()).await;

    let params = ForecastParams {
        as_of: Some(date(cut)),
        horizon: Horizon::new(4).expect("a horizon"),
        paths: Paths::new(100).expect("paths"),
        seed: 2,
    };
    let a_models = tempfile::tempdir().unwrap();
    let b_models = tempfile::tempdir().unwrap();
    let a = jobs::forecast(&full.store, &settings(a_models.path()), params, quick())
        .await
        .expect("forecast on all data");
    let b = jobs::forecast(&past.store, &settings(b_models.path()), params, quick())
        .await
        .expect("forecast on the data known then");
    assert_eq!(a.run.forecasts.len(), b.run.forecasts.len());
    // The CRM's view differs by design: on the latest day of a store it is
    // the deals' recorded categories, on earlier days a mapping from stage.
    let strip = |r: &ForecastRow| ForecastRow {
        crm_commit: None,
        crm_best_case: None,
        crm_pipeline: None,
        history_months: None,
        range_basis: None,
        quota: None,
        p_hit_quota: None,
        ..r.clone()
    };
    for (x, y) in a.run.forecasts.iter().zip(&b.run.forecasts) {
        assert_eq!(
            strip(x),
            strip(y),
            "later data changed a forecast made on {cut}"
        );
    }
    let a_model = attain::jobs::registry::Registry::new(a_models.path())
        .latest()
        .unwrap()
        .unwrap();
    let b_model = attain::jobs::registry::Registry::new(b_models.path())
        .latest()
        .unwrap()
        .unwrap();
    assert_eq!(a_model.metrics, b_model.metrics, "the backtests agree too");
    assert_eq!(a_model.selection, b_model.selection);
    full.finish().await;
    past.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn backtest_scores_attain_and_every_baseline_at_every_level() {
    let org = helpers::small_org(24, 26, 5);
    let backend = helpers::sqlite().await;
    load(&backend.store, org.path()).await;
    let models = tempfile::tempdir().unwrap();
    let (_, out) = jobs::backtest(
        &backend.store,
        &settings(models.path()),
        None,
        quick().backtest,
    )
    .await
    .expect("backtest");
    // 26 months and 6 origins: every origin has a year-ago month.
    assert_eq!(out.comparator, "seasonal_naive");
    for level in Level::ALL {
        for model in [
            "attain",
            "naive",
            "seasonal_naive",
            "trailing_mean",
            "ets",
            "theta",
            "pipeline",
            "crm_call",
        ] {
            let row = out
                .metrics
                .iter()
                .find(|r| r.level == level && r.horizon == 1 && r.model == model);
            let row = row.unwrap_or_else(|| panic!("no {model} at {level} h=1"));
            assert!(row.n > 0 && row.wape.is_some_and(f64::is_finite), "{row:?}");
        }
    }
    let attain_row = out
        .metrics
        .iter()
        .find(|r| r.level == Level::Company && r.horizon == 1 && r.model == "attain")
        .unwrap();
    assert!(
        attain_row
            .coverage_80
            .is_some_and(|c| (0.0..=1.0).contains(&c))
    );
    assert_eq!(out.selection.len(), 6);
    backend.finish().await;
}

/// The organisation's territories, reps and bookings, with the bookings'
/// links to deals removed: a plain monthly sales record.
pub(crate) fn bookings_only(org: &helpers::Org) -> tempfile::TempDir {
    let only = tempfile::tempdir().unwrap();
    for file in ["territories.csv", "reps.csv"] {
        std::fs::copy(org.file(file), only.path().join(file)).unwrap();
    }
    let (header, mut rows) = read_csv(&org.file("bookings.csv"));
    let opp = header.iter().position(|h| h == "opportunity_id").unwrap();
    for row in &mut rows {
        row[opp].clear();
    }
    write_csv(&only.path().join("bookings.csv"), &header, &rows);
    only
}

#[tokio::test(flavor = "multi_thread")]
async fn bookings_alone_forecast_two_years() {
    let org = helpers::small_org(16, 30, 9);
    // Any monthly sales series loaded as bookings: no deals to link to.
    let only = bookings_only(&org);
    let backend = helpers::sqlite().await;
    load(&backend.store, only.path()).await;
    let models = tempfile::tempdir().unwrap();
    let params = ForecastParams {
        as_of: None,
        horizon: Horizon::new(24).expect("a horizon"),
        paths: Paths::new(100).expect("paths"),
        seed: 4,
    };
    let job = jobs::forecast(&backend.store, &settings(models.path()), params, quick())
        .await
        .expect("bookings-only forecast");
    let months: Vec<&ForecastRow> = job
        .run
        .forecasts
        .iter()
        .filter(|r| r.level == Level::Company && !r.period.contains('Q'))
        .collect();
    assert_eq!(months.len(), 24);
    assert!(
        months
            .iter()
            .all(|r| r.model != "pipeline" && r.crm_commit.is_none())
    );
    assert!(months.iter().all(|r| r.mean > Money::from_cents(0)));
    backend.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_that_needs_the_pipeline_falls_back_without_one() {
    let org = helpers::small_org(20, 26, 12);
    let models = tempfile::tempdir().unwrap();
    let settings = settings(models.path());
    let full = helpers::sqlite().await;
    load(&full.store, org.path()).await;
    let trained = jobs::train(&full.store, &settings, None, quick())
        .await
        .expect("train")
        .model;

    // The same organisation's bookings alone: the registered model may have
    // picked the pipeline model, which has nothing to work with here.
    let only = bookings_only(&org);
    let bare = helpers::sqlite().await;
    load(&bare.store, only.path()).await;
    let params = ForecastParams {
        as_of: Some(trained.as_of),
        horizon: Horizon::new(3).expect("a horizon"),
        paths: Paths::new(100).expect("paths"),
        seed: 1,
    };
    let job = jobs::forecast(&bare.store, &settings, params, quick())
        .await
        .expect("forecast with the registered model");
    assert!(!job.trained);
    assert_eq!(job.run.model_version, trained.version);
    assert!(job.run.forecasts.iter().all(|r| r.model != "pipeline"));
    full.finish().await;
    bare.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ramp_curve_and_conversion_factors_read_the_reps_from_the_data() {
    // The generator's new reps book nothing in their first two months and
    // are ramped by their sixth; the curve measured from the data says so.
    let org = helpers::small_org(60, 36, 3);
    let test = helpers::sqlite().await;
    load(&test.store, org.path()).await;
    let models = tempfile::tempdir().unwrap();
    let (data, _) = jobs::load(&test.store, &settings(models.path()))
        .await
        .unwrap();
    let o = attain::features::month_idx(data.last_date);
    let monthly = attain::features::MonthlyBookings::build(&data, o);
    let curve = attain::forecast::ramp_curve(&data, &monthly, o).expect("enough new hires");
    assert!(curve[0] < 0.1 && curve[1] < 0.2, "{curve:?}");
    assert!(curve[2] < curve[6], "{curve:?}");
    let ramped = curve[6..].iter().sum::<f64>() / 6.0;
    // (Few hires per month in seat in 60 reps: the later months are noisy.)
    assert!((0.7..2.0).contains(&ramped), "{curve:?}");
    // Too few hires to measure: no curve rather than a guess.
    let tiny = attain::features::MonthlyBookings::build(&data, data.first_month + 2);
    assert!(attain::forecast::ramp_curve(&data, &tiny, data.first_month + 2).is_none());

    // The planted decliners win less of their pipeline than the team, and
    // their conversion factors say so; nobody is scaled without bounds.
    use attain::forecast::pipeline::{PipelineCache, PipelineModel, win_months};
    let cache = PipelineCache::build(&data, (o - 13)..=o);
    let model = PipelineModel::estimate(&data, &monthly, &cache, &win_months(&data), o);
    let (truth_header, truth) = read_csv(&org.path().join("truth.csv"));
    assert_eq!(truth_header[0], "rep_id");
    let planted: Vec<&str> = truth
        .iter()
        .filter(|row| row[1] == "declining")
        .map(|row| row[0].as_str())
        .collect();
    assert!(!planted.is_empty());
    let mean = |ids: &mut dyn Iterator<Item = &str>| {
        let f: Vec<f64> = ids.map(|id| model.factor_of(id)).collect();
        f.iter().sum::<f64>() / f.len() as f64
    };
    let declining = mean(&mut planted.iter().copied());
    let others = mean(
        &mut data
            .reps
            .iter()
            .map(|r| r.rep_id.as_str())
            .filter(|id| id.starts_with('R') && !planted.contains(id)),
    );
    assert!(declining < others - 0.05, "{declining} vs {others}");
    assert!(model.rep_factor.values().all(|f| (0.25..=2.5).contains(f)));
    assert_eq!(model.factor_of("nobody"), 1.0);
    test.finish().await;
}

/// Three months of a small team's bookings, written by hand: no year-ago
/// month, too few backtest origins for residuals.
fn three_months() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("reps.csv"),
        "rep_id,name,manager_id\nM1,Mara Lind,\nA1,Ann Ode,M1\nB2,Ben Roe,M1\nC3,Cy Tam,M1\n",
    )
    .unwrap();
    let mut bookings = String::from("booking_id,rep_id,amount,booked_date\n");
    let amounts = [
        ("A1", [12_000, 30_500, 18_250]),
        ("B2", [4_000, 0, 9_900]),
        ("C3", [21_000, 17_400, 26_800]),
    ];
    for (rep, months) in amounts {
        for (m, amount) in months.iter().enumerate() {
            if *amount > 0 {
                bookings.push_str(&format!("{rep}-{m},{rep},{amount},2025-0{}-1{m}\n", m + 1));
            }
        }
    }
    std::fs::write(dir.path().join("bookings.csv"), bookings).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rep_who_has_not_booked_yet_is_forecast_with_a_range() {
    // Five complete months (June under way). First bookings: A and B in
    // January, E in February, C in March, D in May; N9 in seat throughout
    // and nothing booked. Months at risk up to and including the first
    // booking: 1 + 1 + 2 + 3 + 5 + 5 (N9) = 17, with 5 first bookings of
    // 10,000, 6,000, 12,000, 8,000 and 4,000 (mean 8,000): a month of a rep
    // who has not booked yet is worth 5/17 x 8,000 = 2,352.94.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("reps.csv"),
        "rep_id,name,manager_id\nM1,Mara Lind,\nA,Ann Ode,M1\nB,Ben Roe,M1\n\
         C,Cy Tam,M1\nD,Di Lu,M1\nE,Ed Kay,M1\nN9,Nell Ng,M1\n",
    )
    .unwrap();
    let amounts: [(&str, [u32; 6]); 5] = [
        ("A", [10_000, 7_000, 9_000, 11_000, 8_000, 5_000]),
        ("B", [6_000, 0, 4_000, 5_000, 7_000, 3_000]),
        ("C", [0, 0, 8_000, 6_000, 9_000, 2_000]),
        ("D", [0, 0, 0, 0, 4_000, 6_000]),
        ("E", [0, 12_000, 10_000, 0, 9_000, 4_000]),
    ];
    let mut bookings = String::from("booking_id,rep_id,amount,booked_date\n");
    for (rep, months) in amounts {
        for (m, amount) in months.iter().enumerate() {
            if *amount > 0 {
                bookings.push_str(&format!("{rep}-{m},{rep},{amount},2025-0{}-15\n", m + 1));
            }
        }
    }
    std::fs::write(dir.path().join("bookings.csv"), bookings).unwrap();
    let backend = helpers::sqlite().await;
    load(&backend.store, dir.path()).await;
    let models = tempfile::tempdir().unwrap();
    let params = ForecastParams {
        as_of: None,
        horizon: Horizon::new(3).expect("a horizon"),
        paths: Paths::new(2_000).expect("paths"),
        seed: 4,
    };
    let job = jobs::forecast(&backend.store, &settings(models.path()), params, quick())
        .await
        .expect("a forecast from five months");
    let lines: Vec<&ForecastRow> = job
        .run
        .forecasts
        .iter()
        .filter(|r| r.level == Level::Rep && r.id == "N9")
        .collect();
    // June (half to come), July, August and the quarter.
    assert_eq!(lines.len(), 4, "{lines:?}");
    // 5/17 x 8,000 in cents.
    let rate = 235_294;
    let mut exact = 0;
    for row in lines {
        assert!(row.p10 < row.p90, "a zero-width range: {row:?}");
        assert!(row.p10 >= Money::from_cents(0), "{row:?}");
        let full = if row.period == "2025-06" || row.period == "2025-Q2" {
            rate / 2
        } else {
            rate
        };
        // A level anchored to its own model scales its reps' months by
        // one ratio; unscaled, the month is the rate to the cent.
        let mean = row.mean.cents();
        assert!(mean > full / 2 && mean < full * 2, "{row:?}");
        exact += usize::from((mean - full).abs() <= 1);
    }
    assert!(exact >= 1, "no month at the first-booking rate");
    backend.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn three_months_of_data_forecast_with_ranges_that_say_what_they_rest_on() {
    let data = three_months();
    let backend = helpers::sqlite().await;
    load(&backend.store, data.path()).await;
    let models = tempfile::tempdir().unwrap();
    let params = ForecastParams {
        as_of: None,
        horizon: Horizon::new(3).expect("a horizon"),
        paths: Paths::new(500).expect("paths"),
        seed: 4,
    };
    let job = jobs::forecast(&backend.store, &settings(models.path()), params, quick())
        .await
        .expect("a forecast from three months");
    let company: Vec<&ForecastRow> = job
        .run
        .forecasts
        .iter()
        .filter(|r| r.level == Level::Company)
        .collect();
    assert!(!company.is_empty());
    for row in &company {
        assert!(row.p10 < row.p90, "a zero-width range: {row:?}");
        // January and February are complete; March is under way.
        assert_eq!(row.history_months, Some(2), "{row:?}");
        assert_eq!(row.range_basis.as_deref(), Some("history"), "{row:?}");
    }
    // Every rep who has sold (the manager has no bookings of their own).
    for row in job
        .run
        .forecasts
        .iter()
        .filter(|r| r.level == Level::Rep && r.id != "M1")
    {
        assert!(row.p10 < row.p90, "a zero-width range: {row:?}");
    }
    // Without a year of data, seasonal naive is not what attain is judged
    // against.
    let trained = jobs::train(&backend.store, &settings(models.path()), None, quick())
        .await
        .expect("train on three months");
    assert_ne!(trained.model.comparator, "seasonal_naive");
    // A damaged artifact (cut short, or edited by hand) newer than it is
    // passed over: the forecast still runs on the trained model.
    let damaged = models.path().join("v9999-damaged");
    std::fs::create_dir_all(&damaged).unwrap();
    std::fs::write(damaged.join("model.json"), "{\"version\": \"v9999").unwrap();
    let registry = attain::jobs::registry::Registry::new(models.path());
    assert_eq!(
        registry.latest().unwrap().map(|m| m.version),
        Some(trained.model.version.clone())
    );
    assert!(
        registry
            .readable()
            .unwrap()
            .iter()
            .all(|(v, _)| !v.contains("damaged"))
    );
    jobs::forecast(&backend.store, &settings(models.path()), params, quick())
        .await
        .expect("a forecast past a damaged artifact");
    // What is stored reads back with it.
    let stored = jobs::stored(
        &backend.store,
        Some(job.run.run_id),
        &ForecastFilter::default(),
    )
    .await
    .unwrap();
    assert_eq!(stored.forecasts, job.run.forecasts);

    // Two months are too few, and the refusal says how many are needed.
    let short = helpers::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(data.path().join("reps.csv"), dir.path().join("reps.csv")).unwrap();
    let (header, rows) = read_csv(&data.path().join("bookings.csv"));
    let kept: Vec<Vec<String>> = rows
        .into_iter()
        .filter(|r| !r[3].starts_with("2025-03"))
        .collect();
    write_csv(&dir.path().join("bookings.csv"), &header, &kept);
    load(&short.store, dir.path()).await;
    let err = jobs::forecast(&short.store, &settings(models.path()), params, quick())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("need 3 months of data"), "{err}");
    short.finish().await;
    backend.finish().await;
}

/// Four years of two reps of different shape, written by hand: one sells
/// the same strongly seasonal year again and again, the other's months
/// wander with no season (a random walk from a fixed seed).
fn two_shapes() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("reps.csv"),
        "rep_id,name,manager_id\nS1,Sia Holm,\nW2,Wes Park,\n",
    )
    .unwrap();
    let season = [2.0, 1.0, 6.0, 1.5, 1.0, 7.0, 2.0, 1.0, 6.5, 1.0, 2.0, 12.0];
    let mut walk = 50_000.0f64;
    let mut state = 7u64;
    let mut bookings = String::from("booking_id,rep_id,amount,booked_date\n");
    for m in 0..48 {
        let (year, month) = (2021 + m / 12, m % 12 + 1);
        let seasonal = 4_000.0 * season[m % 12];
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let step = ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 16_000.0;
        walk = (walk + step).max(5_000.0);
        for (rep, amount) in [("S1", seasonal), ("W2", walk)] {
            bookings.push_str(&format!(
                "{rep}-{m},{rep},{amount:.2},{year}-{month:02}-15\n"
            ));
        }
    }
    std::fs::write(dir.path().join("bookings.csv"), bookings).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn reps_of_different_shape_are_forecast_by_different_models() {
    let data = two_shapes();
    let backend = helpers::sqlite().await;
    load(&backend.store, data.path()).await;
    let models = tempfile::tempdir().unwrap();
    let mut params = quick();
    params.backtest.origins = Origins::new(18).expect("origins");
    let trained = jobs::train(&backend.store, &settings(models.path()), None, params)
        .await
        .expect("train");
    let choices = &trained.model.choices;
    let seasonal = &choices.reps["S1"];
    let wandering = &choices.reps["W2"];
    assert_ne!(seasonal, wandering);
    // The repeating year is read by a model that sees a season; the walk
    // by one that does not repeat last year.
    use attain::forecast::ModelKind;
    assert!(
        seasonal.contains(&ModelKind::SeasonalNaive) || seasonal.contains(&ModelKind::Ets),
        "{seasonal:?}"
    );
    assert!(
        !wandering.contains(&ModelKind::SeasonalNaive),
        "{wandering:?}"
    );
    backend.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn quarter_lines_carry_the_quota_and_the_chance_of_reaching_it() {
    let s = super::api::served(true).await;
    let run = attain::jobs::stored(&s.state.store, None, &Default::default())
        .await
        .unwrap();
    let quarters: Vec<&ForecastRow> = run
        .forecasts
        .iter()
        .filter(|r| r.period.contains('Q'))
        .collect();
    assert!(!quarters.is_empty());
    let mut checked = 0;
    for r in &quarters {
        let (Some(quota), Some(p)) = (r.quota, r.p_hit_quota) else {
            continue;
        };
        assert!((0.0..=1.0).contains(&p), "{r:?}");
        // The quantiles bound the chance: a quota under P10 is reached on
        // at least about nine paths in ten, one over P90 on about one.
        if quota.cents() < r.p10.cents() {
            assert!(p >= 0.88, "{r:?}");
        }
        if quota.cents() > r.p90.cents() {
            assert!(p <= 0.12, "{r:?}");
        }
        checked += 1;
    }
    assert!(checked > 0, "no quarter line has a quota");
    // The company's quota is its reps' quotas summed.
    let company = quarters
        .iter()
        .find(|r| r.level == Level::Company && r.quota.is_some())
        .expect("a company quarter with a quota");
    let reps: i64 = quarters
        .iter()
        .filter(|r| r.level == Level::Rep && r.period == company.period)
        .filter_map(|r| r.quota.map(|q| q.cents()))
        .sum();
    assert!(reps <= company.quota.unwrap().cents());
    // Through the API too.
    let got = s
        .get(
            attain::api::Role::Leader,
            &format!("/v1/forecasts?level=company&period={}", company.period),
        )
        .await
        .json();
    assert!(got["forecasts"][0]["p_hit_quota"].is_number(), "{got}");
}
