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
        let mut data = SalesData::load(&store, FiscalCalendar::default())
            .await
            .expect("load");
        data.rates.set_org("USD");
        let plans = store.plan_book().await.expect("read plans");
        store.close().await;
        (data, plans)
    })
}

/// Month paths for the quarter after the last day: each rep's trailing
/// monthly mean times log-normal noise (the forecast engine's own time is
/// measured apart), `paths` per rep.
#[allow(dead_code)]
pub fn month_paths(
    data: &SalesData,
    first: attain::features::MonthIdx,
    paths: usize,
) -> Vec<attain::forecast::PeriodPaths> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, LogNormal};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let noise = LogNormal::new(0.0, 0.5).expect("lognormal");
    let from = data.last_date - chrono::Days::new(365);
    let mut yearly = vec![0.0f64; data.reps.len()];
    for b in data.bookings.iter().filter(|b| b.day > from) {
        yearly[b.rep as usize] += b.cents as f64 / 100.0;
    }
    (0..3)
        .map(|h| attain::forecast::PeriodPaths {
            period: attain::features::month_period(first + h),
            paths,
            reps: yearly
                .iter()
                .flat_map(|y| {
                    let mean = (y / 12.0) as f32;
                    (0..paths)
                        .map(|_| mean * noise.sample(&mut rng) as f32)
                        .collect::<Vec<f32>>()
                })
                .collect(),
        })
        .collect()
}
