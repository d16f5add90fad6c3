//! The REST API through its router (no socket): every route x role,
//! scopes, CSV downloads, problem+json for bad input, all-or-nothing
//! uploads, plans, training jobs, readers during writes; and the real
//! binary: graceful shutdown on SIGTERM, `kill -9` during an ingest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use attain::api::{AppState, Role, create_token};
use attain::config::{RawSettings, Settings};
use attain::domain::{Horizon, Paths};
use attain::jobs::{self, ForecastParams};
use attain::store::Store;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use super::forecast::{load, quick};
use crate::helpers;

/// A response, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub(crate) fn is_problem(&self) -> bool {
        self.content_type.starts_with("application/problem+json")
    }
}

/// One request through the router.
pub async fn call(
    router: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
    accept: Option<&str>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(a) = accept {
        request = request.header(header::ACCEPT, a);
    }
    let request = match body {
        Some((kind, bytes)) => request
            .header(header::CONTENT_TYPE, kind)
            .body(Body::from(bytes)),
        None => request.body(Body::empty()),
    }
    .expect("request");
    let response = router.clone().oneshot(request).await.expect("answer");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Answer {
        status,
        content_type,
        body,
    }
}

pub(crate) fn api_settings(models: &Path) -> Settings {
    RawSettings {
        models_dir: Some(models.to_owned()),
        max_body_bytes: Some(2 << 20),
        // The tests make many requests with one token at once.
        rate_limit: Some(0),
        ..RawSettings::default()
    }
    .validate()
    .expect("settings")
}

/// A served organisation: data ingested, models trained, a run stored,
/// one token per role.
pub(crate) struct Served {
    pub(crate) router: Router,
    pub(crate) state: Arc<AppState>,
    pub(crate) tokens: BTreeMap<Role, String>,
    /// The manager the manager token is limited to, and their team.
    pub(crate) manager: String,
    pub(crate) team: BTreeSet<String>,
    /// The rep the rep token is limited to (in the team).
    pub(crate) rep: String,
    /// A rep outside the team.
    pub(crate) outsider: String,
    pub(crate) org: helpers::Org,
    pub(crate) _models: tempfile::TempDir,
    pub(crate) db: helpers::TestStore,
}

pub(crate) async fn served(train: bool) -> Served {
    served_on(helpers::sqlite().await, train).await
}

pub(crate) async fn served_on(db: helpers::TestStore, train: bool) -> Served {
    let org = helpers::small_org(24, 26, 31);
    let models = tempfile::tempdir().unwrap();
    let settings = api_settings(models.path());
    let store: Store = db.store.clone();
    load(&store, org.path()).await;
    if train {
        jobs::forecast(
            &store,
            &settings,
            ForecastParams {
                as_of: None,
                horizon: Horizon::new(6).expect("a horizon"),
                paths: Paths::new(200).expect("paths"),
                seed: 3,
            },
            quick(),
        )
        .await
        .expect("forecast");
    }
    let (header, rows) = helpers::read_csv(&org.file("reps.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (id, manager_id) = (col("rep_id"), col("manager_id"));
    let manager = "M001".to_owned();
    let mut team = BTreeSet::from([manager.clone()]);
    loop {
        let before = team.len();
        for r in &rows {
            if team.contains(&r[manager_id]) {
                team.insert(r[id].clone());
            }
        }
        if team.len() == before {
            break;
        }
    }
    let rep = rows
        .iter()
        .find(|r| r[manager_id] == manager)
        .map(|r| r[id].clone())
        .expect("a rep under M001");
    let outsider = rows
        .iter()
        .find(|r| r[manager_id] == "M002")
        .map(|r| r[id].clone())
        .expect("a rep under M002");
    let mut tokens = BTreeMap::new();
    for role in Role::ALL {
        let scope = match role {
            Role::Manager => Some(manager.as_str()),
            Role::Rep => Some(rep.as_str()),
            _ => None,
        };
        let (_, token) = create_token(&store, role, scope, None, None)
            .await
            .expect("token");
        tokens.insert(role, token);
    }
    let state = Arc::new(AppState::new(store, settings));
    attain::api::spawn_worker(&state, std::future::pending());
    let (router, _) = attain::api::router(state.clone());
    Served {
        router,
        state,
        tokens,
        manager,
        team,
        rep,
        outsider,
        org,
        _models: models,
        db,
    }
}

impl Served {
    pub(crate) async fn get(&self, role: Role, uri: &str) -> Answer {
        call(
            &self.router,
            "GET",
            uri,
            Some(&self.tokens[&role]),
            None,
            None,
        )
        .await
    }
}

/// A request body: content type and bytes.
type Upload<'a> = Option<(&'a str, Vec<u8>)>;
/// Method, URI, body, and the roles answered 2xx (the others get 403).
type Case<'a> = (&'a str, String, Upload<'a>, Vec<Role>);

async fn wait_for_job(s: &Served, location: &str) -> Value {
    for _ in 0..600 {
        let job = s.get(Role::Admin, location).await.json();
        if job["status"] != "running" && job["status"] != "queued" {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("job {location} did not finish in 2 minutes");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_each_role_as_designed() {
    let s = served(true).await;
    let quotas = std::fs::read(s.org.file("quotas.csv")).unwrap();
    let plan = serde_json::json!({
        "name": "Flat 5%", "period": "quarter",
        "tier": [{"from": "0%", "rate": "5%"}]
    });
    use Role::*;
    // (method, uri, body, roles answered 2xx; every other role gets 403)
    let statement = |rep: &str| format!("/v1/commissions/statements/{rep}?period=2024-Q4");
    let cases: Vec<Case> = vec![
        ("GET", "/v1/forecasts".into(), None, Role::ALL.to_vec()),
        (
            "GET",
            "/v1/forecasts/accuracy".into(),
            None,
            Role::ALL.to_vec(),
        ),
        (
            "GET",
            "/v1/opportunities".into(),
            None,
            vec![Admin, Leader, Manager, Rep],
        ),
        (
            "GET",
            "/v1/coaching".into(),
            None,
            vec![Admin, Leader, Manager],
        ),
        (
            "GET",
            "/v1/commissions/projections?paths=100".into(),
            None,
            Role::ALL.to_vec(),
        ),
        ("GET", statement(&s.rep), None, Role::ALL.to_vec()),
        (
            "GET",
            "/v1/plans".into(),
            None,
            vec![Admin, Leader, Finance],
        ),
        (
            "PUT",
            "/v1/plans/flat5".into(),
            Some(("application/json", plan.to_string().into_bytes())),
            vec![Admin, Finance],
        ),
        ("GET", "/v1/models".into(), None, Role::ALL.to_vec()),
        (
            "GET",
            "/v1/status".into(),
            None,
            vec![Admin, Leader, Finance],
        ),
        ("GET", "/metrics".into(), None, vec![Admin]),
        (
            "POST",
            "/v1/ingest/quotas".into(),
            Some(("text/csv", quotas.clone())),
            vec![Admin],
        ),
        (
            "POST",
            "/v1/models/train".into(),
            Some((
                "application/json",
                br#"{"origins": 4, "horizon": 3, "paths": 50}"#.to_vec(),
            )),
            vec![Admin],
        ),
    ];
    let mut location = None;
    let mut checked = 0;
    for (method, uri, body, allowed) in &cases {
        for role in Role::ALL {
            let a = call(
                &s.router,
                method,
                uri,
                Some(&s.tokens[&role]),
                body.clone(),
                None,
            )
            .await;
            checked += 1;
            if allowed.contains(&role) {
                assert!(
                    a.status.is_success(),
                    "{method} {uri} as {role:?}: {} {}",
                    a.status,
                    a.text()
                );
                if *method == "POST" && uri.contains("train") {
                    assert_eq!(a.status, StatusCode::ACCEPTED);
                    location = Some(format!("/v1/jobs/{}", a.json()["job_id"]));
                }
            } else {
                assert_eq!(
                    a.status,
                    StatusCode::FORBIDDEN,
                    "{method} {uri} as {role:?}: {}",
                    a.text()
                );
                assert!(a.is_problem(), "{method} {uri}: {}", a.content_type);
            }
        }
        // No token, a made-up token: 401 with a problem and a challenge.
        for token in [None, Some("att_0000_ffff")] {
            let a = call(&s.router, method, uri, token, body.clone(), None).await;
            assert_eq!(
                a.status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} with {token:?}"
            );
            assert!(a.is_problem());
        }
    }
    assert_eq!(checked, cases.len() * 5);
    // Jobs: admins only; the training job finishes and registers a model.
    let location = location.expect("train answered");
    for role in [Leader, Manager, Finance, Rep] {
        assert_eq!(s.get(role, &location).await.status, StatusCode::FORBIDDEN);
    }
    let job = wait_for_job(&s, &location).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert!(job["result"]["run_id"].as_i64().is_some(), "{job}");
    let models = s.get(Admin, "/v1/models").await.json();
    assert_eq!(models["models"].as_array().unwrap().len(), 2, "{models}");
    assert_eq!(
        s.get(Admin, "/v1/jobs/999").await.status,
        StatusCode::NOT_FOUND
    );
    // Health needs no token.
    let health = call(&s.router, "GET", "/health", None, None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["status"], "ok");
    // Metrics counted the requests by route template.
    let metrics = s.get(Admin, "/metrics").await.text();
    assert!(
        metrics.contains("route=\"/v1/commissions/statements/{rep_id}\""),
        "{metrics}"
    );
    assert!(
        metrics.contains("attain_ingest_rows_total{table=\"quotas\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("attain_job_duration_seconds_count{job=\"train\",outcome=\"ok\"} 1"));
    // A revoked token stops working at once.
    let (record, token) = create_token(&s.state.store, Leader, None, Some("temp"), None)
        .await
        .unwrap();
    assert_eq!(
        call(&s.router, "GET", "/v1/models", Some(&token), None, None)
            .await
            .status,
        StatusCode::OK
    );
    assert!(
        s.state
            .store
            .revoke_token(&record.token_id, "test")
            .await
            .unwrap()
    );
    // Revoked from outside the server (as `attain token revoke` does): it
    // holds once the server's 20 ms stamp window has passed.
    tokio::time::sleep(attain::api::state::STAMP_VALID_FOR * 2).await;
    assert_eq!(
        call(&s.router, "GET", "/v1/models", Some(&token), None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // A token row deleted by hand (a purge) does not stop a later
    // revocation from holding, and the deleted token stops working too.
    let (a, token_a) = create_token(&s.state.store, Leader, None, Some("a"), None)
        .await
        .unwrap();
    let (b, token_b) = create_token(&s.state.store, Leader, None, Some("b"), None)
        .await
        .unwrap();
    let answer = |token: String| {
        let router = s.router.clone();
        async move {
            call(&router, "GET", "/v1/models", Some(&token), None, None)
                .await
                .status
        }
    };
    assert_eq!(answer(token_a.clone()).await, StatusCode::OK);
    assert_eq!(answer(token_b.clone()).await, StatusCode::OK);
    let file = s.db.sqlite_file().expect("a SQLite store");
    rusqlite::Connection::open(file)
        .unwrap()
        .execute("DELETE FROM api_tokens WHERE token_id = ?1", [&b.token_id])
        .unwrap();
    tokio::time::sleep(attain::api::state::STAMP_VALID_FOR * 2).await;
    assert_eq!(answer(token_b).await, StatusCode::UNAUTHORIZED);
    assert_eq!(answer(token_a.clone()).await, StatusCode::OK);
    assert!(
        s.state
            .store
            .revoke_token(&a.token_id, "test")
            .await
            .unwrap()
    );
    tokio::time::sleep(attain::api::state::STAMP_VALID_FOR * 2).await;
    assert_eq!(answer(token_a).await, StatusCode::UNAUTHORIZED);
    // A token with an end stops working then, cached or not.
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(600);
    let (_, brief) = create_token(&s.state.store, Leader, None, Some("brief"), Some(soon))
        .await
        .unwrap();
    assert_eq!(answer(brief.clone()).await, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(answer(brief).await, StatusCode::UNAUTHORIZED);
    let past = chrono::Utc::now() - chrono::Duration::days(1);
    let err = create_token(&s.state.store, Leader, None, None, Some(past))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not in the future"), "{err}");
    // A token limited to a person who has left stops working.
    let (_, leaver) = create_token(&s.state.store, Rep, Some(&s.rep), Some("leaver"), None)
        .await
        .unwrap();
    rusqlite::Connection::open(s.db.sqlite_file().unwrap())
        .unwrap()
        .execute(
            "UPDATE reps SET end_date = '2001-01-31' WHERE rep_id = ?1",
            [&s.rep],
        )
        .unwrap();
    assert_eq!(answer(leaver).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn managers_and_reps_see_only_their_people_everywhere() {
    for backend in helpers::backends().await {
        let name = backend.name;
        let s = served_on(backend, true).await;
        scopes_hold(&s).await;
        eprintln!("scopes hold on {name}");
        s.db.finish().await;
    }
}

async fn scopes_hold(s: &Served) {
    use Role::*;
    // Forecasts: a manager's default is the team's reps and managers.
    let f = s.get(Manager, "/v1/forecasts").await.json();
    let rows = f["forecasts"].as_array().unwrap();
    assert!(!rows.is_empty());
    for r in rows {
        assert!(
            ["rep", "manager"].contains(&r["level"].as_str().unwrap()),
            "{r}"
        );
        assert!(s.team.contains(r["id"].as_str().unwrap()), "{r}");
    }
    assert!(
        rows.iter()
            .any(|r| r["level"] == "manager" && r["id"] == s.manager.as_str())
    );
    for uri in [
        "/v1/forecasts?level=company".to_owned(),
        "/v1/forecasts?level=territory".to_owned(),
        format!("/v1/forecasts?level=rep&id={}", s.outsider),
        format!("/v1/opportunities?rep={}", s.outsider),
        "/v1/coaching?manager=M002".to_owned(),
        "/v1/commissions/projections?level=company&paths=100".to_owned(),
        format!("/v1/commissions/projections?rep={}&paths=100", s.outsider),
    ] {
        let a = s.get(Manager, &uri).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{uri}: {}", a.text());
    }
    // A single resource outside the scope is 404, not someone's data.
    let a = s
        .get(
            Manager,
            &format!("/v1/commissions/statements/{}", s.outsider),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = s
        .get(Rep, &format!("/v1/commissions/statements/{}", s.outsider))
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // Lists hold only people in reach.
    let deals = s.get(Manager, "/v1/opportunities?limit=10000").await.json();
    let deals = deals["opportunities"].as_array().unwrap();
    assert!(!deals.is_empty());
    assert!(
        deals
            .iter()
            .all(|d| s.team.contains(d["rep_id"].as_str().unwrap()))
    );
    let all_deals = s.get(Leader, "/v1/opportunities?limit=10000").await.json();
    assert!(all_deals["total"].as_u64().unwrap() > deals.len() as u64);
    let mine = s.get(Rep, "/v1/opportunities").await.json();
    assert!(
        mine["opportunities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["rep_id"] == s.rep.as_str())
    );
    let coach = s.get(Manager, "/v1/coaching").await.json();
    assert_eq!(coach["manager_id"], s.manager.as_str());
    assert!(
        coach["reps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| s.team.contains(r["rep_id"].as_str().unwrap()))
    );
    // The same team ranked by decline: most urgent first, the priority
    // list's members, in the decline order.
    let by_decline = s
        .get(Manager, "/v1/coaching?rank_by=decline&limit=1000")
        .await
        .json();
    assert_eq!(by_decline["ranked_by"], "decline");
    assert_eq!(coach["ranked_by"], "priority");
    let reps = by_decline["reps"].as_array().unwrap();
    let mut ids: Vec<&str> = reps.iter().map(|r| r["rep_id"].as_str().unwrap()).collect();
    let urgency: Vec<f64> = reps
        .iter()
        .map_while(|r| r["decline"]["urgency"].as_f64())
        .collect();
    assert!(!urgency.is_empty(), "{by_decline}");
    assert!(urgency.windows(2).all(|w| w[0] >= w[1]), "{urgency:?}");
    ids.sort_unstable();
    let mut team: Vec<&str> = coach["reps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rep_id"].as_str().unwrap())
        .collect();
    team.sort_unstable();
    if coach["total"].as_u64() == Some(team.len() as u64) {
        assert_eq!(ids, team);
    }
    let pay = s
        .get(Manager, "/v1/commissions/projections?paths=100")
        .await
        .json();
    let payouts = pay["payouts"].as_array().unwrap();
    assert!(!payouts.is_empty());
    assert!(
        payouts
            .iter()
            .all(|p| s.team.contains(p["id"].as_str().unwrap())),
        "{pay}"
    );
    let pay = s
        .get(Rep, "/v1/commissions/projections?paths=100")
        .await
        .json();
    assert!(
        pay["payouts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["id"] == s.rep.as_str())
    );
    let own = s
        .get(Rep, &format!("/v1/commissions/statements/{}", s.rep))
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text());
    assert_eq!(own.json()["rep_id"], s.rep.as_str());
    // CSV downloads are scoped the same way.
    let csv = call(
        &s.router,
        "GET",
        "/v1/forecasts?level=rep",
        Some(&s.tokens[&Manager]),
        None,
        Some("text/csv"),
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let text = csv.text();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let id = header.iter().position(|h| *h == "id").expect("id column");
    let ids: BTreeSet<String> = lines
        .map(|l| l.split(',').nth(id).unwrap().to_owned())
        .collect();
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|i| s.team.contains(i)), "{ids:?}");
    // Work is bounded before it starts: a rep may not ask for a hundred
    // thousand paths, and the answer says the limit.
    let heavy = s.get(Rep, "/v1/commissions/projections?paths=100000").await;
    assert_eq!(
        heavy.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        heavy.text()
    );
    assert!(
        heavy.text().contains("at most 5000 paths"),
        "{}",
        heavy.text()
    );
    assert_eq!(
        s.get(
            Admin,
            "/v1/commissions/projections?paths=100000&period=2026-Q4"
        )
        .await
        .status,
        StatusCode::OK
    );
    for uri in [
        "/v1/opportunities",
        "/v1/coaching",
        "/v1/commissions/projections?paths=100",
    ] {
        let csv = call(
            &s.router,
            "GET",
            uri,
            Some(&s.tokens[&Manager]),
            None,
            Some("text/csv"),
        )
        .await;
        assert_eq!(csv.status, StatusCode::OK, "{uri}");
        assert!(csv.content_type.starts_with("text/csv"), "{uri}");
        assert!(!csv.text().contains(&format!(",{},", s.outsider)), "{uri}");
        // No cell a spreadsheet would run as a formula (the drivers of a
        // deal begin with a sign).
        let text = csv.text();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        for record in reader.records() {
            for cell in record.unwrap().iter() {
                if cell.len() > 1 && cell.starts_with(['=', '+', '-', '@']) {
                    assert!(cell.parse::<f64>().is_ok(), "{uri}: {cell}");
                }
            }
        }
    }
    // Whole-org readers see everyone, and pages add up.
    let company = s.get(Finance, "/v1/forecasts").await.json();
    assert!(
        company["forecasts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["level"] == "company")
    );
    let page = s
        .get(Leader, "/v1/forecasts?level=rep&limit=5&offset=5")
        .await
        .json();
    assert_eq!(page["forecasts"].as_array().unwrap().len(), 5);
    assert_eq!(page["offset"], 5);
    assert!(page["total"].as_u64().unwrap() > 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_problem_json_naming_the_field_and_nothing_is_stored() {
    let s = served(false).await;
    let admin = Some(s.tokens[&Role::Admin].as_str());
    let before = s.state.store.fingerprint().await.unwrap();
    // Query parameters.
    for (uri, field) in [
        ("/v1/forecasts?horizon=abc", "horizon"),
        ("/v1/forecasts?period=2024-Q7", "period"),
        ("/v1/forecasts?as_of=yesterday", "as_of"),
        ("/v1/forecasts?level=planet", "level"),
        ("/v1/opportunities?sort=luck", "sort"),
        ("/v1/coaching?rank_by=luck", "rank_by"),
        ("/v1/forecasts?limit=0", "limit"),
    ] {
        let a = call(&s.router, "GET", uri, admin, None, None).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}: {}", a.text());
        assert!(a.is_problem(), "{uri}");
        let p = a.json();
        assert_eq!(p["status"], 400);
        assert!(p["detail"].as_str().unwrap().contains(field), "{uri}: {p}");
    }
    // Unknown route, wrong method: problems too.
    let a = call(&s.router, "GET", "/v1/nothing", admin, None, None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.is_problem());
    let a = call(&s.router, "DELETE", "/v1/forecasts", admin, None, None).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(a.is_problem(), "{}", a.content_type);
    // No run stored yet, no model: clear 404 / 409.
    let a = call(&s.router, "GET", "/v1/forecasts", admin, None, None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text());
    let a = call(&s.router, "GET", "/v1/coaching", admin, None, None).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text());
    assert!(
        a.json()["detail"]
            .as_str()
            .unwrap()
            .contains("/v1/models/train")
    );
    // A CSV upload with a bad amount and an unknown rep: 422 naming row and
    // column; nothing stored.
    let csv = "rep_id,period,amount\nR00001,2025-01,1000\nR00001,2025-02,lots\nNOBODY,2025-03,5\n";
    let a = call(
        &s.router,
        "POST",
        "/v1/ingest/quotas",
        admin,
        Some(("text/csv", csv.into())),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
    let p = a.json();
    assert_eq!(p["total_errors"], 2, "{p}");
    let errors = p["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["row"] == 3 && e["column"] == "amount" && e["value"] == "lots"),
        "{p}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e["row"] == 4 && e["column"] == "rep_id"),
        "{p}"
    );
    assert!(errors.iter().all(|e| e["file"] == "quotas.csv"), "{p}");
    // JSON rows: an unknown field and a nested value, by array position.
    let body = serde_json::json!([
        {"rep_id": "R00001", "period": "2025-01", "amount": 10},
        {"rep_id": "R00001", "period": "2025-02", "amount": {"x": 1}},
        {"rep_id": "R00001", "period": "2025-03", "amount": "5", "colour": "red"}
    ]);
    let a = call(
        &s.router,
        "POST",
        "/v1/ingest/quotas",
        admin,
        Some(("application/json", body.to_string().into())),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
    let p = a.json();
    let errors = p["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["row"] == 2 && e["field"] == "amount"),
        "{p}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e["row"] == 3 && e["field"] == "colour"),
        "{p}"
    );
    // JSON whose values fail row validation: rows are array positions.
    let body = serde_json::json!([
        {"rep_id": "R00001", "period": "2025-01", "amount": "10"},
        {"rep_id": "R00001", "period": "2025-13", "amount": "10"}
    ]);
    let a = call(
        &s.router,
        "POST",
        "/v1/ingest/quotas",
        admin,
        Some(("application/json", body.to_string().into())),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
    let p = a.json();
    assert!(
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["row"] == 2 && e["column"] == "period"),
        "{p}"
    );
    // Not CSV or JSON; unknown kind; too large.
    let a = call(
        &s.router,
        "POST",
        "/v1/ingest/quotas",
        admin,
        Some(("application/xml", b"<x/>".to_vec())),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let a = call(
        &s.router,
        "POST",
        "/v1/ingest/planets",
        admin,
        Some(("text/csv", b"a\n1\n".to_vec())),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.json()["detail"].as_str().unwrap().contains("kind"));
    let big = vec![b'x'; 3 << 20];
    let a = call(
        &s.router,
        "POST",
        "/v1/ingest/quotas",
        admin,
        Some(("text/csv", big)),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(a.is_problem());
    assert_eq!(
        s.state.store.fingerprint().await.unwrap(),
        before,
        "nothing was stored"
    );
    // A good upload stores; the same again changes nothing.
    let good = "rep_id,period,amount\nR00001,2031-01,1000\n";
    let a = call(
        &s.router,
        "POST",
        "/v1/ingest/quotas",
        admin,
        Some(("text/csv", good.into())),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["tables"]["quotas"]["inserted"], 1);
    let a = call(
        &s.router,
        "POST",
        "/v1/ingest/quotas",
        admin,
        Some(("text/csv", good.into())),
        None,
    )
    .await;
    assert_eq!(a.json()["tables"]["quotas"]["unchanged"], 1);
    // Plans: a bad plan is refused whole with its reason; a good one is
    // created, then replaced; the train body is checked by field.
    let bad = serde_json::json!({"name": "x", "period": "fortnight", "tier": [{"from": "0%", "rate": "5%"}]});
    let a = call(
        &s.router,
        "PUT",
        "/v1/plans/p9",
        admin,
        Some(("application/json", bad.to_string().into())),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
    assert!(a.text().contains("fortnight"), "{}", a.text());
    let good = serde_json::json!({"name": "Nine", "period": "quarter", "tier": [{"from": "0%", "rate": "9%"}]});
    let a = call(
        &s.router,
        "PUT",
        "/v1/plans/p9",
        admin,
        Some(("application/json", good.to_string().into())),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    assert_eq!(a.json()["plan"]["tiers"][0]["rate"], "0.09");
    let toml = "name = \"Nine\"\nperiod = \"month\"\n[[tier]]\nfrom = \"0%\"\nrate = \"9%\"\n";
    let a = call(
        &s.router,
        "PUT",
        "/v1/plans/p9",
        admin,
        Some(("application/toml", toml.into())),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let plans = call(&s.router, "GET", "/v1/plans", admin, None, None)
        .await
        .json();
    let p9: Vec<&Value> = plans["plans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["id"] == "p9")
        .collect();
    assert_eq!(p9.len(), 1);
    assert_eq!(p9[0]["period"], "month");
    assert!(
        plans["plans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == "ae"),
        "the generated plans stay"
    );
    let a = call(
        &s.router,
        "PUT",
        "/v1/plans/p9",
        admin,
        Some(("application/json", br#"{"id": "other"}"#.to_vec())),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = call(
        &s.router,
        "POST",
        "/v1/models/train",
        admin,
        Some(("application/json", br#"{"horizon": "soon"}"#.to_vec())),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.json()["detail"].as_str().unwrap().contains("horizon"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_covers_every_route_and_error() {
    let s = served(false).await;
    let doc = call(&s.router, "GET", "/openapi.json", None, None, None)
        .await
        .json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("/health", "get"),
        ("/ping", "get"),
        ("/metrics", "get"),
        ("/v1/status", "get"),
        ("/v1/ingest/{kind}", "post"),
        ("/v1/forecasts", "get"),
        ("/v1/forecasts/accuracy", "get"),
        ("/v1/calls", "get"),
        ("/v1/calls", "post"),
        ("/v1/calls/accuracy", "get"),
        ("/v1/changes", "get"),
        ("/v1/opportunities", "get"),
        ("/v1/coaching", "get"),
        ("/v1/commissions/projections", "get"),
        ("/v1/commissions/statements/{rep_id}", "get"),
        ("/v1/plans", "get"),
        ("/v1/plans/{id}", "put"),
        ("/v1/plans/{id}/versions", "get"),
        ("/v1/commissions/periods", "get"),
        ("/v1/commissions/periods/{period}/close", "post"),
        ("/v1/commissions/periods/{period}/publish", "post"),
        ("/v1/commissions/adjustments", "post"),
        (
            "/v1/commissions/statements/{rep_id}/{period}/dispute",
            "post",
        ),
        ("/v1/commissions/disputes", "get"),
        ("/v1/commissions/disputes/{id}/resolve", "post"),
        ("/v1/commissions/export", "get"),
        ("/v1/audit", "get"),
        ("/v1/plan/quotas", "post"),
        ("/v1/plan/comp", "post"),
        ("/v1/plan/territories", "get"),
        ("/v1/models", "get"),
        ("/v1/models/train", "post"),
        ("/v1/jobs/{id}", "get"),
        ("/v1/reports/{file}", "get"),
        ("/v1/whoami", "get"),
    ];
    for (path, method) in expected {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} missing");
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.keys().any(|k| k.starts_with('2')), "{path}");
        if path != "/health" && path != "/ping" {
            assert!(responses.contains_key("401"), "{path}: 401 documented");
            assert_eq!(op["security"][0]["bearer"], serde_json::json!([]), "{path}");
            let problem = &responses["401"]["content"]["application/problem+json"];
            assert!(problem.is_object(), "{path}: 401 is problem+json");
            assert!(
                responses["429"]["headers"]["Retry-After"].is_object(),
                "{path}: 429 with Retry-After documented"
            );
        }
    }
    assert_eq!(
        paths.len(),
        expected.len() - 1,
        "every documented path is a route above (/v1/calls twice)"
    );
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "ForecastRow",
        "Problem",
        "DealScore",
        "RepRisk",
        "Payout",
        "RepStatement",
        "CompPlan",
        "IngestSummary",
        "Job",
    ] {
        assert!(schemas.contains_key(name), "schema {name}");
    }
    assert_eq!(
        schemas["ForecastRow"]["properties"]["p50"]["$ref"],
        "#/components/schemas/Money"
    );
}

// ------------------------------------------------------- the real binary

fn run_ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("run attain");
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fingerprint(data_dir: &Path) -> (Value, String) {
    let status: Value = serde_json::from_str(&run_ok(
        super::cli::attain(data_dir).args(["status", "--format", "json"]),
    ))
    .expect("status json");
    let fp = status["fingerprint"].as_str().unwrap().to_owned();
    (status, fp)
}

#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    use std::io::{BufRead, BufReader, Read, Write};
    let work = tempfile::tempdir().unwrap();
    let org = helpers::small_org(8, 14, 2);
    run_ok(
        super::cli::attain(work.path())
            .arg("ingest")
            .arg(org.path()),
    );
    let out = run_ok(super::cli::attain(work.path()).args(["token", "create", "--role", "admin"]));
    let token = out.lines().last().unwrap().to_owned();
    let mut server = super::cli::attain(work.path())
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve");
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("http://") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the server stopped early"
        );
    }
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    // A request whose body arrives half before and half after SIGTERM.
    let body = "rep_id,period,amount\nR00001,2031-01,1000\nR00001,2031-02,1000\n";
    let (first, second) = body.split_at(25);
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /v1/ingest/quotas HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    conn.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let pid = server.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(std::time::Duration::from_millis(400));
    conn.write_all(second.as_bytes()).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"inserted\":2"), "{answer}");
    let status = server.wait().unwrap();
    assert!(status.success(), "the server exits cleanly: {status:?}");
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "nothing listens after shutdown"
    );
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("stopped"), "{rest}");
    assert!(
        rest.contains("route=/v1/ingest/{kind}") && rest.contains("status=200"),
        "the request is logged with its id, route and status: {rest}"
    );
}

#[test]
fn kill_9_during_an_ingest_leaves_a_consistent_store_and_the_ingest_succeeds_after() {
    let org = helpers::small_org(120, 36, 9);
    let reference = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    run_ok(
        super::cli::attain(reference.path())
            .arg("ingest")
            .arg(org.path())
            .args(["--as-of", "2030-01-01"]),
    );
    // Kills land at fractions of how long a whole ingest takes here, so
    // they fall inside the ingest however fast this machine and build are.
    let whole_ms = started.elapsed().as_millis() as u64;
    let (_, expected) = fingerprint(reference.path());
    let mut killed_mid_way = 0;
    for delay_ms in [15, 35, 55, 75].map(|percent| whole_ms * percent / 100) {
        let work = tempfile::tempdir().unwrap();
        let mut child = super::cli::attain(work.path())
            .arg("ingest")
            .arg(org.path())
            .args(["--as-of", "2030-01-01"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            killed_mid_way += 1;
        }
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        // The store opens and holds either nothing or everything.
        if work.path().join("attain.db").exists() {
            let (status, fp) = fingerprint(work.path());
            let rows: u64 = status["tables"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum();
            assert!(
                rows == 0 || fp == expected,
                "after kill at {delay_ms} ms: {status}"
            );
        }
        // The same ingest then succeeds and stores exactly the data.
        run_ok(
            super::cli::attain(work.path())
                .arg("ingest")
                .arg(org.path())
                .args(["--as-of", "2030-01-01"]),
        );
        assert_eq!(
            fingerprint(work.path()).1,
            expected,
            "after kill at {delay_ms} ms"
        );
    }
    assert!(
        killed_mid_way >= 2,
        "the kills must land during ingests ({killed_mid_way} did)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn readers_keep_answering_while_an_ingest_and_a_training_run_go_on() {
    let s = served(true).await;
    let admin = s.tokens[&Role::Admin].clone();
    let leader = s.tokens[&Role::Leader].clone();
    let started = call(
        &s.router,
        "POST",
        "/v1/models/train",
        Some(&admin),
        Some((
            "application/json",
            br#"{"origins": 4, "horizon": 3, "paths": 50}"#.to_vec(),
        )),
        None,
    )
    .await;
    assert_eq!(started.status, StatusCode::ACCEPTED);
    let location = format!("/v1/jobs/{}", started.json()["job_id"]);
    let history = std::fs::read(s.org.file("opportunity_history.csv")).unwrap();
    let router = s.router.clone();
    let ingest = tokio::spawn(async move {
        call(
            &router,
            "POST",
            "/v1/ingest/opportunity_history?as_of=2030-01-01",
            Some(&admin),
            Some(("text/csv", history)),
            None,
        )
        .await
    });
    let mut answered = 0;
    let begin = std::time::Instant::now();
    loop {
        for uri in [
            "/v1/forecasts",
            "/v1/forecasts?level=rep&limit=20",
            "/v1/models",
            "/v1/forecasts/accuracy",
        ] {
            let a = call(&s.router, "GET", uri, Some(&leader), None, None).await;
            assert_eq!(
                a.status,
                StatusCode::OK,
                "{uri} during writes: {}",
                a.text()
            );
            answered += 1;
        }
        let job = s.get(Role::Admin, &location).await.json();
        if ingest.is_finished() && job["status"] != "running" && job["status"] != "queued" {
            assert_eq!(job["status"], "succeeded", "{job}");
            break;
        }
        assert!(begin.elapsed().as_secs() < 300, "writes did not finish");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let ingested = ingest.await.unwrap();
    assert_eq!(ingested.status, StatusCode::OK, "{}", ingested.text());
    assert!(answered >= 8, "{answered} reads answered during the writes");
}

#[test]
fn serving_beyond_loopback_without_tls_warns_and_loopback_does_not() {
    use std::io::{BufRead, BufReader};
    let work = tempfile::tempdir().unwrap();
    let first_lines = |addr: &str| -> String {
        let mut server = super::cli::attain(work.path())
            .args(["serve", "--addr", addr])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("serve");
        let mut stderr = BufReader::new(server.stderr.take().unwrap());
        let mut seen = String::new();
        while !seen.contains("http://") {
            let mut line = String::new();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "stopped early: {seen}"
            );
            seen.push_str(&line);
        }
        server.kill().unwrap();
        let _ = server.wait();
        seen
    };
    let open = first_lines("0.0.0.0:0");
    assert!(open.contains("without TLS"), "{open}");
    let local = first_lines("127.0.0.1:0");
    assert!(!local.contains("without TLS"), "{local}");
}
