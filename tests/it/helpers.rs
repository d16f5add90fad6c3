//! Shared test scaffolding: fresh stores on each back-end, small orgs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use attain::ingest::{IngestOptions, Mapping};
use attain::sim::{OrgParams, generate_to};
use attain::store::Store;
use chrono::NaiveDate;
use sqlx::Connection;

/// A store made for one test, on one back-end.
pub struct TestStore {
    pub store: Store,
    pub name: &'static str,
    /// Its URL, for another process to open.
    pub url: String,
    cleanup: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestStore {
    /// The SQLite file, for a test that changes rows by hand.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        self._dir.as_ref().map(|d| d.path().join("attain.db"))
    }

    /// Drops the PostgreSQL database made for the test (SQLite files go with the temp dir).
    pub async fn finish(self) {
        self.store.close().await;
        if let Some((admin_url, db)) = self.cleanup {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db}"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
}

pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("attain.db").display());
    TestStore {
        store: Store::connect(&url).await.expect("open sqlite"),
        name: "sqlite",
        url,
        cleanup: None,
        _dir: Some(dir),
    }
}

fn postgres_url() -> String {
    std::env::var("ATTAIN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh PostgreSQL database, or `None` (with a note on stderr) when no
/// server answers and none is required.
pub async fn postgres() -> Option<TestStore> {
    let admin_url = postgres_url();
    let required = std::env::var("ATTAIN_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(e) => {
            if required {
                panic!(
                    "PostgreSQL is required (ATTAIN_REQUIRE_POSTGRES=1) but {admin_url} is unreachable: {e}"
                );
            }
            eprintln!(
                "note: skipping the PostgreSQL half of this test: {admin_url} is unreachable ({e})"
            );
            return None;
        }
    };
    let db = format!(
        "attain_it_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        chrono::Utc::now().timestamp_subsec_nanos()
    );
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let (base, _) = admin_url.rsplit_once('/').expect("database URL has a path");
    let url = format!("{base}/{db}");
    Some(TestStore {
        store: Store::connect(&url).await.expect("open postgres"),
        name: "postgres",
        url,
        cleanup: Some((admin_url, db)),
        _dir: None,
    })
}

/// SQLite always, plus PostgreSQL when available.
pub async fn backends() -> Vec<TestStore> {
    let mut out = vec![sqlite().await];
    out.extend(postgres().await);
    out
}

/// A small generated organisation in a temp dir.
pub struct Org {
    pub dir: tempfile::TempDir,
}

impl Org {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

pub fn small_org(reps: usize, months: u32, seed: u64) -> Org {
    let dir = tempfile::tempdir().expect("temp dir");
    generate_to(
        OrgParams {
            reps,
            months,
            seed,
            ..OrgParams::default()
        },
        dir.path(),
    )
    .expect("generate");
    Org { dir }
}

pub fn options(snapshot: NaiveDate) -> IngestOptions {
    IngestOptions {
        mapping: Mapping::native(),
        snapshot_date: Some(snapshot),
        dry_run: false,
        max_problems: 100,
        progress: false,
        // Small windows, so tests cross window and chunk boundaries.
        window_rows: 777,
        fiscal: attain::domain::FiscalCalendar::default(),
        actor: "test".to_owned(),
        currency: "USD".to_owned(),
    }
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

/// Reads a CSV file into header + rows.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).expect("open csv");
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("record").iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// Writes header + rows as CSV.
pub fn write_csv(path: &Path, header: &[String], rows: &[Vec<String>]) {
    let mut writer = csv::Writer::from_path(path).expect("create csv");
    writer.write_record(header).expect("header");
    for row in rows {
        writer.write_record(row).expect("row");
    }
    writer.flush().expect("flush");
}

/// Writes `files` (name, text) into a folder, ingests it into a fresh
/// SQLite store as of `today`, and loads the data.
pub async fn ingested(
    files: &[(&str, &str)],
    today: &str,
) -> (TestStore, attain::features::SalesData) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let t = sqlite().await;
    attain::ingest::ingest(&t.store, &[dir.path().to_path_buf()], &options(date(today)))
        .await
        .expect("ingest");
    let data =
        attain::features::SalesData::load(&t.store, attain::domain::FiscalCalendar::default())
            .await
            .expect("load");
    (t, data)
}
