//! What changed between two days: every kind of move on a hand-written
//! pipeline (amounts with odd cents, adding up to the cent on both
//! back-ends), a team against the company, and the route's reach, forecast
//! and calls.

use std::collections::HashMap;

use attain::api::Role;
use attain::config::RawSettings;
use attain::domain::Money;
use attain::features::Level;
use attain::jobs::changes::{ChangesParams, changes};
use axum::http::StatusCode;
use serde_json::Value;

use super::api::{call, served};
use crate::helpers::{self, date};

/// One quarter (2026-Q1) seen on 2026-01-10 and on 2026-02-10: one deal
/// per kind of move, one that stays put, one that came and was won in
/// between, one of another team.
fn write_pipeline(dir: &std::path::Path) {
    let files = [
        (
            "territories.csv",
            "territory_id,name,region\nT1,East,North\nT2,West,North\n",
        ),
        (
            "reps.csv",
            "rep_id,name,manager_id,territory_id,role\n\
             M1,Mara,,T1,manager\nM2,Nils,M1,T2,manager\n\
             R1,Ruth,M1,T1,rep\nR2,Sam,M1,T1,rep\nR3,Tom,M2,T2,rep\n",
        ),
        (
            "opportunities.csv",
            "opportunity_id,rep_id,amount,stage,status,created_date,close_date\n\
             D_NEW,R1,1000.10,Prospecting,open,2026-01-20,2026-03-15\n\
             D_PULL,R1,2000.20,Proposal,open,2025-12-01,2026-03-20\n\
             D_MOVEIN,R2,300.03,Proposal,open,2025-11-01,2026-02-28\n\
             D_RAISE,R2,750.55,Proposal,open,2025-12-05,2026-02-15\n\
             D_CUT,R1,600.01,Proposal,open,2025-12-05,2026-03-01\n\
             D_WON,R1,400.00,Closed Won,won,2025-12-10,2026-02-01\n\
             D_LOST,R2,350.00,Closed Lost,lost,2025-12-10,2026-01-30\n\
             D_SLIP,R2,900.00,Proposal,open,2025-12-10,2026-04-15\n\
             D_OUT,R1,123.45,Proposal,open,2025-12-10,2025-12-31\n\
             D_SAME,R1,1111.11,Proposal,open,2025-12-01,2026-03-30\n\
             D_OTHER,R3,77.77,Proposal,open,2026-01-12,2026-03-01\n\
             D_FLASH,R1,55.55,Closed Won,won,2026-01-15,2026-02-05\n",
        ),
        (
            "opportunity_history.csv",
            "opportunity_id,as_of,stage,status,amount,close_date\n\
             D_NEW,2026-01-20,Prospecting,open,1000.10,2026-03-15\n\
             D_PULL,2025-12-01,Proposal,open,2000.20,2026-05-01\n\
             D_PULL,2026-01-25,Proposal,open,2000.20,2026-03-20\n\
             D_MOVEIN,2025-11-01,Proposal,open,300.03,2025-12-20\n\
             D_MOVEIN,2026-01-15,Proposal,open,300.03,2026-02-28\n\
             D_RAISE,2025-12-05,Proposal,open,500.00,2026-02-15\n\
             D_RAISE,2026-01-20,Proposal,open,750.55,2026-02-15\n\
             D_CUT,2025-12-05,Proposal,open,800.00,2026-03-01\n\
             D_CUT,2026-02-01,Proposal,open,600.01,2026-03-01\n\
             D_WON,2025-12-10,Proposal,open,400.00,2026-02-01\n\
             D_WON,2026-02-01,Closed Won,won,400.00,2026-02-01\n\
             D_LOST,2025-12-10,Proposal,open,350.00,2026-03-10\n\
             D_LOST,2026-01-30,Closed Lost,lost,350.00,2026-01-30\n\
             D_SLIP,2025-12-10,Proposal,open,900.00,2026-03-05\n\
             D_SLIP,2026-02-05,Proposal,open,900.00,2026-04-15\n\
             D_OUT,2025-12-10,Proposal,open,123.45,2026-02-20\n\
             D_OUT,2026-02-02,Proposal,open,123.45,2025-12-31\n\
             D_SAME,2025-12-01,Proposal,open,1111.11,2026-03-30\n\
             D_OTHER,2026-01-12,Proposal,open,77.77,2026-03-01\n\
             D_FLASH,2026-01-15,Proposal,open,55.55,2026-03-01\n\
             D_FLASH,2026-02-05,Closed Won,won,55.55,2026-02-05\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

fn cents(s: &str) -> i64 {
    Money::parse(s).unwrap().cents()
}

#[tokio::test]
async fn every_kind_of_move_adds_up_to_the_cent_on_both_back_ends() {
    let dir = tempfile::tempdir().unwrap();
    write_pipeline(dir.path());
    for db in helpers::backends().await {
        attain::ingest::ingest(
            &db.store,
            &[dir.path().to_owned()],
            &helpers::options(date("2026-02-20")),
        )
        .await
        .expect("ingest");
        let settings = RawSettings::default().validate().unwrap();
        let (data, _) = attain::jobs::load(&db.store, &settings).await.unwrap();
        let ask = |id: &str| ChangesParams {
            id: Some(id.to_owned()),
            level: None,
            period: Some(attain::domain::Period::parse("2026-Q1").unwrap()),
            from: Some(date("2026-01-10")),
            to: Some(date("2026-02-10")),
        };
        let c = changes(&db.store, &data, &ask("company")).await.unwrap();
        let got: HashMap<&str, (i64, Vec<String>)> = c
            .steps
            .iter()
            .map(|s| (s.kind.as_str(), (s.amount.cents(), s.deals.clone())))
            .collect();
        let want = [
            ("new", "1055.65", vec!["D_NEW", "D_OTHER", "D_FLASH"]),
            ("pulled_in", "2000.20", vec!["D_PULL"]),
            ("moved_in", "300.03", vec!["D_MOVEIN"]),
            ("raised", "250.55", vec!["D_RAISE"]),
            ("cut", "-199.99", vec!["D_CUT"]),
            ("won", "-455.55", vec!["D_WON", "D_FLASH"]),
            ("lost", "-350.00", vec!["D_LOST"]),
            ("slipped", "-900.00", vec!["D_SLIP"]),
            ("moved_out", "-123.45", vec!["D_OUT"]),
        ];
        for (kind, amount, deals) in &want {
            let (c_got, d_got) = &got[kind];
            let expected = cents(amount) + if *kind == "new" { 7777 } else { 0 };
            assert_eq!(*c_got, expected, "{} {kind}", db.name);
            assert_eq!(d_got, deals, "{} {kind}", db.name);
        }
        assert_eq!(c.opening.cents(), cents("4184.56"), "{}", db.name);
        assert_eq!(c.opening_deals, 7);
        assert_eq!(c.closing.cents(), cents("5762.00") + 7777);
        assert_eq!(c.closing_deals, 7);
        let sum: i64 = c.steps.iter().map(|s| s.amount.cents()).sum();
        assert_eq!(c.opening.cents() + sum, c.closing.cents());
        assert_eq!(c.level, Level::Company);
        // A team: M2's is only Tom's deal; R1 alone is a rep.
        let team = changes(&db.store, &data, &ask("M2")).await.unwrap();
        assert_eq!(team.level, Level::Manager);
        assert_eq!(team.closing.cents(), 7777);
        assert_eq!(team.opening_deals, 0);
        let rep = changes(&db.store, &data, &ask("R1")).await.unwrap();
        assert_eq!(rep.level, Level::Rep);
        let sum: i64 = rep.steps.iter().map(|s| s.amount.cents()).sum();
        assert_eq!(rep.opening.cents() + sum, rep.closing.cents());
        assert!(
            rep.steps
                .iter()
                .all(|s| s.deals.iter().all(|d| d != "D_RAISE"))
        );
        // A territory and a region resolve too; unknowns and reversed days
        // are refused.
        let t = changes(&db.store, &data, &ask("T2")).await.unwrap();
        assert_eq!((t.level, t.closing.cents()), (Level::Territory, 7777));
        let r = changes(&db.store, &data, &ask("North")).await.unwrap();
        assert_eq!(r.closing, c.closing);
        assert!(changes(&db.store, &data, &ask("NOBODY")).await.is_err());
        let mut back = ask("company");
        back.from = Some(date("2026-03-01"));
        assert!(changes(&db.store, &data, &back).await.is_err());
        // No run is stored here, and no one has called.
        assert!(c.forecast.from.is_none() && c.forecast.to.is_none());
        assert!(c.calls.to.is_none() && c.people.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_route_keeps_to_the_reach_and_shows_the_forecast_and_the_calls() {
    let s = served(true).await;
    let got = s.get(Role::Leader, "/v1/changes").await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text());
    let body = got.json();
    let sum: i64 = body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| cents(s["amount"].as_str().unwrap()))
        .sum();
    assert_eq!(
        cents(body["opening"].as_str().unwrap()) + sum,
        cents(body["closing"].as_str().unwrap()),
        "{body}"
    );
    assert_eq!(body["level"], "company");
    assert!(
        body["forecast"]["to"]["p50"].is_string(),
        "the stored run's forecast: {}",
        body["forecast"]
    );
    // A manager's token defaults to their team; a rep's to themselves; a
    // person outside the reach, or the company, is 403.
    let mine = s.get(Role::Manager, "/v1/changes").await.json();
    assert_eq!(
        (mine["level"].as_str(), mine["id"].as_str()),
        (Some("manager"), Some(s.manager.as_str()))
    );
    let own = s.get(Role::Rep, "/v1/changes").await.json();
    assert_eq!(own["id"], s.rep.as_str());
    for (role, uri) in [
        (Role::Rep, format!("/v1/changes?id={}", s.outsider)),
        (Role::Manager, format!("/v1/changes?id={}", s.outsider)),
        (Role::Manager, "/v1/changes?id=company".to_owned()),
    ] {
        let a = s.get(role, &uri).await;
        assert_eq!(
            a.status,
            StatusCode::FORBIDDEN,
            "{role:?} {uri}: {}",
            a.text()
        );
    }
    for uri in [
        "/v1/changes?from=2030-01-02&to=2030-01-01",
        "/v1/changes?period=2027-Q9",
        "/v1/changes?id=NOBODY",
    ] {
        let a = s.get(Role::Admin, uri).await;
        assert!(a.status.is_client_error(), "{uri}: {}", a.status);
        assert!(a.is_problem());
    }
    // A call made today shows as the rep's change over the last week.
    let today = chrono::Utc::now().date_naive();
    let body = serde_json::json!({"person_id": s.rep, "period": "2099-Q1", "commit": "123.45"});
    let posted = call(
        &s.router,
        "POST",
        "/v1/calls",
        Some(&s.tokens[&Role::Rep]),
        Some(("application/json", body.to_string().into_bytes())),
        None,
    )
    .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.text());
    let uri = format!(
        "/v1/changes?period=2099-Q1&from={}&to={today}",
        today - chrono::Duration::days(7)
    );
    let seen: Value = s.get(Role::Rep, &uri).await.json();
    assert_eq!(seen["calls"]["person_id"], s.rep.as_str(), "{seen}");
    assert!(seen["calls"]["from"].is_null());
    assert_eq!(seen["calls"]["to"]["commit"], "123.45");
    assert_eq!(seen["calls"]["commit_change"], "123.45");
    let team: Value = s
        .get(Role::Manager, &format!("{uri}&id={}", s.manager))
        .await
        .json();
    assert!(
        team["people"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["person_id"] == s.rep.as_str()),
        "the rep's call in the team's changes: {team}"
    );
}

#[tokio::test]
async fn forecast_categories_are_read_as_the_history_recorded_them() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "territories.csv",
            "territory_id,name,region\nT1,East,North\n",
        ),
        (
            "reps.csv",
            "rep_id,name,manager_id,territory_id,role\nM1,Mara,,T1,manager\nR1,Ruth,M1,T1,rep\n",
        ),
        (
            "opportunities.csv",
            "opportunity_id,rep_id,amount,stage,status,created_date,close_date,forecast_category\n\
             D1,R1,100.00,Proposal,open,2026-01-05,2026-03-01,Pipeline\n\
             D2,R1,200.00,Proposal,open,2026-01-05,2026-03-01,\n\
             D3,R1,50.00,Closed Won,won,2025-12-01,2026-01-20,Closed\n",
        ),
        (
            "opportunity_history.csv",
            "opportunity_id,as_of,stage,status,amount,close_date,forecast_category\n\
             D1,2026-01-05,Proposal,open,100.00,2026-03-01,Commit\n\
             D1,2026-02-01,Proposal,open,100.00,2026-03-01,Best Case\n\
             D2,2026-01-05,Proposal,open,200.00,2026-03-01,\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let settings = RawSettings::default().validate().unwrap();
    for db in helpers::backends().await {
        let load = || async {
            attain::ingest::ingest(
                &db.store,
                &[dir.path().to_owned()],
                &helpers::options(date("2026-02-20")),
            )
            .await
            .expect("ingest")
        };
        load().await;
        let first = db.store.status().await.unwrap().fingerprint;
        load().await;
        assert_eq!(
            db.store.status().await.unwrap().fingerprint,
            first,
            "{}: the same files again change nothing",
            db.name
        );
        let (data, _) = attain::jobs::load(&db.store, &settings).await.unwrap();
        let opp = |id: &str| data.opps.iter().position(|o| o.id == id).unwrap() as u32;
        let on = |id: &str, day: &str| data.category_on(opp(id), date(day)).map(str::to_owned);
        assert_eq!(
            on("D1", "2026-01-10").as_deref(),
            Some("Commit"),
            "{}",
            db.name
        );
        assert_eq!(on("D1", "2026-02-10").as_deref(), Some("Best Case"));
        // The export's current category differs from the history's last:
        // the export's day records it.
        assert_eq!(on("D1", "2026-02-25").as_deref(), Some("Pipeline"));
        assert_eq!(on("D2", "2026-02-25"), None, "never recorded");
        assert_eq!(on("D1", "2026-01-01"), None, "before the deal");
    }
}
