//! Short flat exports, as a team's first CRM export looks: a few months of
//! deals, no history file, blanks. Every forecast line has a range.

use attain::domain::{Horizon, Paths};
use attain::features::Level;
use attain::ingest::{Mapping, ingest};
use attain::jobs::{self, ForecastParams};

use crate::forecast::{quick, settings};
use crate::helpers::{date, options, sqlite};

async fn forecast_of_flat_export(months: u32) {
    let org = attain::sim::OrgParams {
        reps: 16,
        months,
        seed: 5,
        start: date("2024-01-01"),
        deals_per_rep_month: 3.0,
    }
    .check()
    .unwrap()
    .generate();
    let dir = tempfile::tempdir().unwrap();
    attain::sim::write_flat(&org, dir.path()).unwrap();
    let t = sqlite().await;
    let mut opts = options(org.end);
    opts.mapping = Mapping::from_file(&dir.path().join("crm_mapping.toml")).unwrap();
    opts.snapshot_date = None;
    ingest(&t.store, &[dir.path().to_path_buf()], &opts)
        .await
        .unwrap();
    let models = tempfile::tempdir().unwrap();
    let params = ForecastParams {
        as_of: None,
        horizon: Horizon::new(3).expect("a horizon"),
        paths: Paths::new(1_000).expect("paths"),
        seed: 4,
    };
    let job = jobs::forecast(&t.store, &settings(models.path()), params, quick())
        .await
        .unwrap_or_else(|e| panic!("a forecast from {months} months: {e}"));
    let rows = &job.run.forecasts;
    assert!(rows.iter().any(|r| r.level == Level::Rep));
    for row in rows {
        // The first two months draw each open deal's outcome; a seller
        // whose deals are each unlikely to close in the month still books
        // business that is not in the pipeline yet.
        assert!(
            row.p10 < row.p90,
            "{months} months: a zero-width range: {row:?}"
        );
        assert!(row.mean.cents() > 0, "{months} months: {row:?}");
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_six_month_flat_export_forecasts_a_range_on_every_line() {
    forecast_of_flat_export(6).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nine_month_flat_export_forecasts_a_range_on_every_line() {
    forecast_of_flat_export(9).await;
}
