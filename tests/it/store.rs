//! The storage contract, on every back-end.

use std::collections::BTreeMap;

use attain::ingest::ingest;
use attain::store::Table;

use crate::helpers::*;

/// What the history file says each deal looked like on `day`: the latest
/// snapshot at or before it, for deals created by then.
fn expected_pipeline(org: &Org, day: &str) -> BTreeMap<String, Vec<String>> {
    let (_, opps) = read_csv(&org.file("opportunities.csv"));
    let created: BTreeMap<String, String> = opps
        .into_iter()
        .map(|r| (r[0].clone(), r[7].clone()))
        .collect();
    let (_, history) = read_csv(&org.file("opportunity_history.csv"));
    let mut latest: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in history {
        // ISO dates compare correctly as text.
        if row[1].as_str() > day || created[&row[0]].as_str() > day {
            continue;
        }
        let keep = latest.get(&row[0]).is_none_or(|prev| prev[1] < row[1]);
        if keep {
            latest.insert(row[0].clone(), row);
        }
    }
    latest
}

#[tokio::test]
async fn the_pipeline_as_of_a_past_date_matches_the_history_file() {
    let org = small_org(20, 18, 21);
    for t in backends().await {
        ingest(
            &t.store,
            &[org.path().to_path_buf()],
            &options(date("2024-07-01")),
        )
        .await
        .unwrap();
        for day in ["2023-03-31", "2023-09-15", "2024-02-29", "2024-06-30"] {
            let expected = expected_pipeline(&org, day);
            let actual = t.store.opportunities_as_of(date(day)).await.unwrap();
            assert_eq!(actual.len(), expected.len(), "{} {day}", t.name);
            for deal in &actual {
                let row = &expected[deal.opportunity_id.as_str()];
                assert_eq!(deal.snapshot_date.to_string(), row[1], "{} {day}", t.name);
                assert_eq!(deal.stage, row[2]);
                assert_eq!(deal.status.as_str(), row[3]);
                assert_eq!(
                    deal.amount.map(|a| a.to_string()).unwrap_or_default(),
                    row[4]
                );
                assert_eq!(
                    deal.close_date.map(|d| d.to_string()).unwrap_or_default(),
                    row[5]
                );
            }
        }
        t.finish().await;
    }
}

#[tokio::test]
async fn sqlite_and_postgres_hold_identical_data_after_the_same_ingests() {
    let Some(pg) = postgres().await else { return };
    let lite = sqlite().await;
    let org = small_org(20, 12, 22);
    let newer = small_org(20, 12, 23);
    for t in [&lite, &pg] {
        ingest(
            &t.store,
            &[org.path().to_path_buf()],
            &options(date("2024-01-01")),
        )
        .await
        .unwrap();
        // A second organisation on top: new ids for most rows, updates for the rest.
        ingest(
            &t.store,
            &[newer.path().to_path_buf()],
            &options(date("2024-02-01")),
        )
        .await
        .unwrap();
    }
    let (a, b) = (
        lite.store.status().await.unwrap(),
        pg.store.status().await.unwrap(),
    );
    assert_eq!(a.tables, b.tables);
    assert_eq!(a.first_date, b.first_date);
    assert_eq!(a.last_date, b.last_date);
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(
        lite.store.reps().await.unwrap(),
        pg.store.reps().await.unwrap()
    );
    assert_eq!(
        lite.store
            .opportunities_as_of(date("2023-06-30"))
            .await
            .unwrap(),
        pg.store
            .opportunities_as_of(date("2023-06-30"))
            .await
            .unwrap()
    );
    lite.finish().await;
    pg.finish().await;
}

#[tokio::test]
async fn the_fingerprint_tracks_content_not_bookkeeping() {
    for t in backends().await {
        let empty = t.store.fingerprint().await.unwrap();
        assert_eq!(empty, t.store.fingerprint().await.unwrap());
        let org = small_org(10, 6, 24);
        let summary = ingest(
            &t.store,
            &[org.path().to_path_buf()],
            &options(date("2024-01-01")),
        )
        .await
        .unwrap();
        assert_ne!(summary.fingerprint, empty);
        assert_eq!(summary.fingerprint, t.store.fingerprint().await.unwrap());
        let status = t.store.status().await.unwrap();
        assert_eq!(status.tables.len(), Table::ALL.len());
        assert!(
            status.first_date >= Some(date("2023-01-01")),
            "the org starts in January 2023"
        );
        assert!(status.first_date <= status.last_date);
        t.finish().await;
    }
}

/// An ingest that fills empty tables sums their hashes as it writes them
/// rather than reading them back; its fingerprint must still be the one a
/// full read gives, whether history came with the deals, was written as
/// snapshots, or tables already held rows.
#[tokio::test]
async fn an_ingest_fingerprint_equals_a_full_read() {
    for t in backends().await {
        let org = small_org(12, 6, 31);
        // People and deals first: the deals' history is snapshots.
        let partial = tempfile::tempdir().unwrap();
        for table in ["territories", "reps", "opportunities"] {
            let name = format!("{table}.csv");
            std::fs::copy(org.file(&name), partial.path().join(&name)).unwrap();
        }
        let first = ingest(
            &t.store,
            &[partial.path().to_path_buf()],
            &options(date("2024-01-01")),
        )
        .await
        .unwrap();
        assert!(first.snapshots_added > 0, "{}", t.name);
        assert_eq!(first.fingerprint, t.store.fingerprint().await.unwrap());
        // Then everything: some tables already hold rows, some are empty.
        let second = ingest(
            &t.store,
            &[org.path().to_path_buf()],
            &options(date("2024-01-01")),
        )
        .await
        .unwrap();
        assert_ne!(second.fingerprint, first.fingerprint);
        assert_eq!(
            second.fingerprint,
            t.store.fingerprint().await.unwrap(),
            "{}",
            t.name
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn the_date_range_ends_with_the_data_not_with_expected_closes() {
    let org = small_org(12, 8, 25);
    let t = sqlite().await;
    ingest(
        &t.store,
        &[org.path().to_path_buf()],
        &options(date("2023-08-31")),
    )
    .await
    .unwrap();
    let status = t.store.status().await.unwrap();
    // Eight months from January 2023: the last known day is in August, even
    // though open deals expect to close later.
    assert!(
        status.last_date <= Some(date("2023-08-31")),
        "{:?}",
        status.last_date
    );
    assert!(status.first_date >= Some(date("2023-01-01")));
    t.finish().await;
}

#[tokio::test]
async fn the_plan_book_is_stored_replaced_and_kept_on_every_backend() {
    let org = small_org(12, 6, 5);
    let plans = org.path().join("comp_plans.toml");
    let generated = std::fs::read_to_string(&plans).expect("the generator writes plans");
    for t in backends().await {
        let paths = [org.path().to_path_buf()];
        ingest(&t.store, &paths, &options(date("2024-07-01")))
            .await
            .expect("ingest");
        assert_eq!(
            t.store.plan_book().await.expect("read").as_deref(),
            Some(generated.as_str()),
            "{}",
            t.name
        );
        // A changed book alone replaces the stored one, in one transaction.
        let dir = tempfile::tempdir().expect("temp dir");
        let changed = format!("{generated}\n# revised\n");
        std::fs::write(dir.path().join("comp_plans.toml"), &changed).expect("write");
        let summary = ingest(
            &t.store,
            &[dir.path().to_path_buf()],
            &options(date("2024-07-01")),
        )
        .await
        .expect("plans alone");
        assert_eq!(summary.tables["comp_plans"].updated, 1, "{}", t.name);
        assert_eq!(
            t.store.plan_book().await.expect("read").as_deref(),
            Some(changed.as_str()),
            "{}",
            t.name
        );
        // A broken one is refused and the stored one stays.
        std::fs::write(dir.path().join("comp_plans.toml"), "[[plan]]\nid = 1\n").expect("write");
        let err = ingest(
            &t.store,
            &[dir.path().to_path_buf()],
            &options(date("2024-07-01")),
        )
        .await
        .expect_err("invalid plans");
        assert!(
            err.to_string().contains("comp_plans.toml"),
            "{}: {err}",
            t.name
        );
        assert_eq!(
            t.store.plan_book().await.expect("read").as_deref(),
            Some(changed.as_str()),
            "{}",
            t.name
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn tokens_are_stored_as_hashes_looked_up_and_revoked_on_every_backend() {
    use attain::api::{Principal, Role, create_token};
    let org = small_org(12, 6, 5);
    for t in backends().await {
        assert_eq!(t.store.data_version().await.expect("version"), 0);
        ingest(
            &t.store,
            &[org.path().to_path_buf()],
            &options(date("2024-07-01")),
        )
        .await
        .expect("ingest");
        let version = t.store.data_version().await.expect("version");
        assert!(version > 0, "{}", t.name);
        // Scopes are checked against the stored people.
        assert!(
            create_token(&t.store, Role::Manager, None, None, None)
                .await
                .is_err()
        );
        assert!(
            create_token(&t.store, Role::Manager, Some("NOBODY"), None, None)
                .await
                .is_err()
        );
        assert!(
            create_token(&t.store, Role::Leader, Some("M001"), None, None)
                .await
                .is_err()
        );
        let (record, token) = create_token(&t.store, Role::Manager, Some("M001"), Some("m1"), None)
            .await
            .expect("token");
        assert!(token.len() >= 64 + 16, "at least 256 secret bits: {token}");
        let listed = t.store.tokens().await.expect("list");
        assert_eq!(listed, vec![record.clone()], "{}", t.name);
        // The token itself is not stored anywhere.
        let dump = format!("{listed:?}");
        assert!(!dump.contains(&token[token.len() - 32..]));
        let who = Principal::from_token(&t.store, &token)
            .await
            .expect("lookup")
            .expect("known");
        assert_eq!(
            (who.role, who.scope.as_deref()),
            (Role::Manager, Some("M001"))
        );
        assert!(
            Principal::from_token(&t.store, "att_x_y")
                .await
                .expect("lookup")
                .is_none()
        );
        assert!(
            t.store
                .revoke_token(&record.token_id, "test")
                .await
                .expect("revoke")
        );
        assert!(
            !t.store
                .revoke_token(&record.token_id, "test")
                .await
                .expect("again"),
            "{}",
            t.name
        );
        assert!(
            Principal::from_token(&t.store, &token)
                .await
                .expect("lookup")
                .is_none()
        );
        assert!(
            t.store.tokens().await.expect("list")[0]
                .revoked_at
                .is_some()
        );
        t.finish().await;
    }
}

/// Index definitions of a SQLite store, by name.
async fn sqlite_indexes(store: &attain::store::Store) -> Vec<(String, String)> {
    let attain::store::Store::Sqlite(pool) = store else {
        panic!("not a SQLite store");
    };
    sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .expect("read the schema")
}

#[tokio::test]
async fn a_first_ingest_leaves_the_indexes_the_migrations_made() {
    // A load into empty tables drops their secondary indexes and builds
    // them again at the end; the result must be what the migrations made.
    let t = sqlite().await;
    let migrated = sqlite_indexes(&t.store).await;
    assert_eq!(
        migrated.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        [
            "audit_events_kind",
            "bookings_date",
            "bookings_rep_date",
            "calls_once",
            "calls_period",
            "closed_statements_close",
            "commission_adjustments_rep",
            "commission_disputes_rep",
            "jobs_claimable",
            "opportunities_rep",
            "reps_manager"
        ]
    );
    let org = small_org(20, 14, 5);
    ingest(
        &t.store,
        &[org.path().to_path_buf()],
        &options(date("2024-03-01")),
    )
    .await
    .expect("ingest");
    assert_eq!(sqlite_indexes(&t.store).await, migrated);
    // A rejected first load leaves them too.
    let fresh = sqlite().await;
    let bad = small_org(10, 13, 6);
    let path = bad.file("bookings.csv");
    let text = std::fs::read_to_string(&path).expect("bookings");
    let broken = text.replacen('\n', "\nB-broken,NOPE,1.00,2024-01-05,,\n", 1);
    std::fs::write(&path, broken).expect("write");
    let result = ingest(
        &fresh.store,
        &[bad.path().to_path_buf()],
        &options(date("2024-03-01")),
    )
    .await;
    assert!(result.is_err(), "the broken file was accepted");
    assert_eq!(sqlite_indexes(&fresh.store).await, migrated);
}

#[tokio::test(flavor = "multi_thread")]
async fn model_versions_travel_through_the_store_between_models_folders() {
    for t in backends().await {
        let org = small_org(12, 20, 4);
        ingest(
            &t.store,
            &[org.path().to_path_buf()],
            &options(date("2030-01-01")),
        )
        .await
        .expect("ingest");
        let (here, there) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let settings = |dir: &std::path::Path| {
            attain::config::RawSettings {
                models_dir: Some(dir.to_owned()),
                ..Default::default()
            }
            .validate()
            .unwrap()
        };
        let trained = attain::jobs::train(
            &t.store,
            &settings(here.path()),
            None,
            super::forecast::quick(),
        )
        .await
        .expect("train");
        let version = trained.model.version.clone();
        assert_eq!(
            t.store.model_versions().await.unwrap(),
            std::slice::from_ref(&version)
        );
        // Another host's folder gets it before it reads the registry.
        let registry = attain::jobs::registry::shared(&t.store, &settings(there.path()))
            .await
            .expect("sync");
        let copy = registry.load(&version).expect("the copy reads");
        assert_eq!(copy.data_fingerprint, trained.model.data_fingerprint);
        assert_eq!(
            registry.files(&version).unwrap(),
            attain::jobs::registry::Registry::new(here.path())
                .files(&version)
                .unwrap(),
            "{}: the same bytes",
            t.name
        );
        // A damaged local version is not shared.
        let bad = here.path().join("v0099-deadbeef");
        std::fs::create_dir_all(&bad).unwrap();
        std::fs::write(bad.join("model.json"), b"{ cut short").unwrap();
        attain::jobs::registry::sync(
            &t.store,
            &attain::jobs::registry::Registry::new(here.path()),
        )
        .await
        .expect("sync passes over it");
        assert_eq!(t.store.model_versions().await.unwrap(), [version]);
        t.finish().await;
    }
}
