//! Shared benchmark setup: a generated organisation, ingested into a
//! temporary SQLite store and loaded (not timed).

use attain::domain::FiscalCalendar;
use attain::features::SalesData;
use attain::ingest::{self, IngestOptions, Mapping};
use attain::sim::{OrgParams, generate_to};
use attain::store::Store;

/// A generated organisation of `reps` reps over 36 months, loaded, with its
/// stored comp plan book.
pub fn org(reps: usize, seed: u64) -> (SalesData, Option<String>) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let org = dir.path().join("org");
        generate_to(
            OrgParams {
                reps,
                months: 36,
                seed,
                ..OrgParams::default()
            },
            &org,
        )
        .expect("generate");
        let db = dir.path().join("attain.db");
        let store = Store::connect(&format!("sqlite://{}", db.display()))
            .await
            .expect("store");
        let options = IngestOptions {
            mapping: Mapping::native(),
            snapshot_date: chrono::NaiveDate::from_ymd_opt(2030, 1, 1),
            dry_run: false,
            max_problems: 10,
            progress: false,
            window_rows: ingest::WINDOW_ROWS,
            fiscal: FiscalCalendar::default(),
            actor: "bench".to_owned(),
            currency: "USD".to_owned(),
        };
        ingest::ingest(&store, &[org], &options)
            .await
            .expect("ingest");
        let data = SalesData::load(&store, FiscalCalendar::default())
            .await
            .expect("load");
        let plans = store.plan_book().await.expect("read plans");
        store.close().await;
        (data, plans)
    })
}
