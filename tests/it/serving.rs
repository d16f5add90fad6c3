//! The server on a real socket and beside other processes: TLS, the
//! connection limit and header timeout, rates per token, durable jobs
//! shared by replicas and a worker, and writers racing readers.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use attain::api::{AppState, Role, create_token};
use attain::config::{RawSettings, Settings};
use attain::jobs::queue::{self, Work};
use axum::http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::api::{Served, call};
use crate::helpers;

fn settings(raw: RawSettings) -> Settings {
    raw.validate().expect("settings")
}

/// Serves `state` in this process on a free loopback port; returns the
/// address and a sender that stops it.
async fn serve_here(
    state: Arc<AppState>,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(attain::api::serve(listener, state, tls, async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// One HTTP/1.1 request over a new connection: status and body.
fn http(addr: &str, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut conn = std::net::TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    write!(
        conn,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("read answer");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn a_token_over_its_rate_is_answered_429_with_retry_after_and_others_are_not() {
    let db = helpers::sqlite().await;
    let models = tempfile::tempdir().unwrap();
    let state = Arc::new(AppState::new(
        db.store.clone(),
        settings(RawSettings {
            models_dir: Some(models.path().to_owned()),
            rate_limit: Some(3),
            ..RawSettings::default()
        }),
    ));
    let (router, _) = attain::api::router(state.clone());
    let (_, busy) = create_token(&db.store, Role::Finance, None, None, None)
        .await
        .unwrap();
    let (_, other) = create_token(&db.store, Role::Leader, None, None, None)
        .await
        .unwrap();
    let mut statuses = BTreeMap::new();
    let mut retry_after = None;
    for _ in 0..12 {
        let request = axum::http::Request::builder()
            .uri("/v1/whoami")
            .header("authorization", format!("Bearer {busy}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let response = tower::ServiceExt::oneshot(router.clone(), request)
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
        }
        *statuses.entry(response.status().as_u16()).or_insert(0) += 1;
    }
    // A burst of twice the rate, then refusals.
    assert_eq!(statuses.get(&200), Some(&6), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&6), "{statuses:?}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    let a = call(&router, "GET", "/v1/whoami", Some(&other), None, None).await;
    assert_eq!(a.status, StatusCode::OK, "another token keeps its own rate");
    assert!(
        state
            .metrics
            .render()
            .contains("attain_http_requests_throttled_total 6")
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let a = call(&router, "GET", "/v1/whoami", Some(&busy), None, None).await;
    assert_eq!(a.status, StatusCode::OK, "back after Retry-After");
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_answers_https_and_not_plain_http() {
    let db = helpers::sqlite().await;
    let work = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (work.path().join("cert.pem"), work.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let files = attain::config::TlsFiles {
        cert: cert.clone(),
        key: work.path().join("missing.pem"),
    };
    let missing = attain::api::tls_config(&files).await.expect_err("no key");
    assert!(missing.to_string().contains("missing.pem"), "{missing}");
    let tls = attain::api::tls_config(&attain::config::TlsFiles { cert, key })
        .await
        .expect("TLS config");
    let state = Arc::new(AppState::new(
        db.store.clone(),
        settings(RawSettings {
            models_dir: Some(work.path().join("models")),
            ..RawSettings::default()
        }),
    ));
    let (addr, _stop) = serve_here(state, Some(tls)).await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = connector.connect(name, tcp).await.expect("TLS handshake");
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Clear text to the TLS port gets no HTTP answer.
    let plain = tokio::task::spawn_blocking(move || {
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let _ = conn.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut out = Vec::new();
        let _ = conn.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap();
    assert!(!plain.contains("200 OK"), "{plain}");
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_past_the_limit_are_closed_and_silent_ones_time_out() {
    let db = helpers::sqlite().await;
    let work = tempfile::tempdir().unwrap();
    let state = Arc::new(AppState::new(
        db.store.clone(),
        settings(RawSettings {
            models_dir: Some(work.path().join("models")),
            max_connections: Some(2),
            header_timeout_secs: Some(1),
            ..RawSettings::default()
        }),
    ));
    let (addr, _stop) = serve_here(state, None).await;
    let outcome = tokio::task::spawn_blocking(move || {
        let open = || {
            let c = std::net::TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            c
        };
        // Reads until the server closes: how long it took.
        let closed_after = |mut c: std::net::TcpStream| {
            let started = Instant::now();
            let mut buf = [0u8; 64];
            loop {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => return started.elapsed(),
                    Ok(_) => {}
                }
            }
        };
        let (a, b) = (open(), open());
        std::thread::sleep(Duration::from_millis(300));
        let third = closed_after(open());
        // The two silent ones are closed after the header timeout.
        let silent = closed_after(a);
        let _ = closed_after(b);
        std::thread::sleep(Duration::from_millis(100));
        let (status, _) = http(&addr.to_string(), "GET", "/health", "none", "");
        (third, silent, status)
    })
    .await
    .unwrap();
    let (third, silent, status) = outcome;
    assert!(
        third < Duration::from_millis(500),
        "third closed after {third:?}"
    );
    assert!(
        silent > Duration::from_millis(300) && silent < Duration::from_secs(5),
        "a silent connection closed after {silent:?}"
    );
    assert_eq!(status, 200, "a connection is served once others closed");
}

#[tokio::test]
async fn jobs_are_claimed_once_retaken_after_their_lease_and_refreshes_queue_once() {
    for db in helpers::backends().await {
        let store = &db.store;
        let work = Work::Train {
            as_of: None,
            horizon: 3,
            origins: 2,
            forecast: false,
            paths: 100,
        };
        let job = queue::enqueue(store, &work).await.unwrap();
        assert_eq!(job.status, queue::JobStatus::Queued, "{}", db.name);
        let now = attain::store::now_ms();
        let a = store.claim_job("a", now, now + 1_000).await.unwrap();
        assert_eq!(a.as_ref().map(|j| j.job_id), Some(job.job_id));
        assert!(
            store
                .claim_job("b", now, now + 1_000)
                .await
                .unwrap()
                .is_none(),
            "{}: a held job is not claimed twice",
            db.name
        );
        // a's lease runs out (its process died): b takes the job over.
        let later = now + 1_001;
        let b = store
            .claim_job("b", later, later + 1_000)
            .await
            .unwrap()
            .expect("retaken");
        assert_eq!((b.job_id, b.attempts), (job.job_id, 2), "{}", db.name);
        assert!(
            !store
                .renew_job(job.job_id, "a", later + 5_000)
                .await
                .unwrap()
        );
        assert!(
            !store.finish_job(job.job_id, "a", Ok("{}")).await.unwrap(),
            "{}: a lost its lease and cannot record an outcome",
            db.name
        );
        assert!(
            store
                .renew_job(job.job_id, "b", later + 5_000)
                .await
                .unwrap()
        );
        assert!(
            store
                .finish_job(job.job_id, "b", Ok(r#"{"ok":true}"#))
                .await
                .unwrap()
        );
        let done = queue::job(store, job.job_id).await.unwrap().unwrap();
        assert_eq!(done.status, queue::JobStatus::Succeeded);
        assert_eq!(done.result, Some(serde_json::json!({"ok": true})));
        // One refresh per day, however many processes queue it.
        let first = store
            .enqueue_job("refresh", "{}", Some("refresh/2030-01-02"))
            .await
            .unwrap();
        let second = store
            .enqueue_job("refresh", "{}", Some("refresh/2030-01-02"))
            .await
            .unwrap();
        assert!(first.is_some() && second.is_none(), "{}", db.name);
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_refresh_is_queued_once_and_ingests_trains_and_forecasts() {
    let db = helpers::sqlite().await;
    let org = helpers::small_org(16, 26, 8);
    let models = tempfile::tempdir().unwrap();
    let settings = settings(RawSettings {
        models_dir: Some(models.path().to_owned()),
        refresh_dir: Some(org.path().to_owned()),
        refresh_at: Some("02:30".to_owned()),
        ..RawSettings::default()
    });
    let schedule = settings.refresh.clone().expect("a schedule");
    let day = chrono::NaiveDate::from_ymd_opt(2030, 1, 2).unwrap();
    let first = queue::queue_refresh(&db.store, &schedule, day)
        .await
        .unwrap();
    let again = queue::queue_refresh(&db.store, &schedule, day)
        .await
        .unwrap();
    assert!(first.is_some() && again.is_none(), "queued once a day");
    let worker = queue::Worker::new(
        db.store.clone(),
        settings,
        "worker",
        Arc::new(tokio::sync::Notify::new()),
    );
    assert_eq!(worker.run_one().await.unwrap(), first);
    let job = queue::job(&db.store, first.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, queue::JobStatus::Succeeded, "{:?}", job.error);
    let result = job.result.expect("a result");
    assert!(result["run_id"].as_i64().is_some(), "{result}");
    assert!(result["model_version"].is_string(), "{result}");
    assert!(
        result["ingested"]["tables"]["opportunities"].is_object(),
        "{result}"
    );
    assert!(db.store.latest_forecast_run(None).await.unwrap().is_some());
    assert!(worker.run_one().await.unwrap().is_none(), "nothing left");
    // A refresh half configured is refused at start.
    let half = RawSettings {
        refresh_at: Some("25:00".to_owned()),
        ..RawSettings::default()
    }
    .validate()
    .expect_err("no folder");
    assert!(half.to_string().contains("refresh_dir"), "{half}");
    let bad_time = RawSettings {
        refresh_dir: Some(org.path().to_owned()),
        refresh_at: Some("25:00".to_owned()),
        ..RawSettings::default()
    }
    .validate()
    .expect_err("not a time");
    assert!(bad_time.to_string().contains("HH:MM"), "{bad_time}");
}

// ------------------------------------------------ several real processes

fn attain_on(url: &str, models: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_attain"));
    cmd.env("ATTAIN_DATABASE_URL", url)
        .env("ATTAIN_MODELS_DIR", models)
        .env("ATTAIN_JOB_LEASE_SECS", "2")
        .env("ATTAIN_RATE_LIMIT", "0")
        .env("RUST_LOG", "info");
    cmd
}

/// A process that is killed when the test ends, however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `attain serve` on a free port; returns it and its address.
fn replica(url: &str, models: &Path) -> (Proc, String) {
    let mut child = attain_on(url, models)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("http://") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve stopped early"
        );
    }
    // Keep draining its log so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("an address")
        .to_owned();
    (Proc(child), addr)
}

fn job_json(addr: &str, token: &str, id: i64) -> serde_json::Value {
    let (status, body) = http(addr, "GET", &format!("/v1/jobs/{id}"), token, "");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("job JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_and_a_worker_share_jobs_and_a_killed_claimer_s_job_completes() {
    let Some(db) = helpers::postgres().await else {
        return;
    };
    let org = helpers::small_org(30, 30, 5);
    super::forecast::load(&db.store, org.path()).await;
    let (_, token) = create_token(&db.store, Role::Admin, None, None, None)
        .await
        .unwrap();
    // A models folder each, as on separate hosts: versions travel
    // through the store.
    let folders: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let (a, addr_a) = replica(&db.url, folders[0].path());
    let (b, addr_b) = replica(&db.url, folders[1].path());
    let worker = Proc(
        attain_on(&db.url, folders[2].path())
            .arg("worker")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("worker"),
    );
    let mut procs = BTreeMap::from([
        (a.0.id(), (a, Some(addr_a.clone()))),
        (b.0.id(), (b, Some(addr_b.clone()))),
        (worker.0.id(), (worker, None)),
    ]);
    let (status, body) = http(
        &addr_a,
        "POST",
        "/v1/models/train",
        &token,
        r#"{"origins": 12, "horizon": 6, "paths": 200}"#,
    );
    assert_eq!(status, 202, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["job_id"]
        .as_i64()
        .expect("a job id");
    // The other replica sees it; whoever claimed it is killed mid-way.
    let started = Instant::now();
    let owner = loop {
        let job = job_json(&addr_b, &token, id);
        let record = db.store.job(id).await.unwrap().expect("stored");
        if job["status"] == "running" {
            break record.lease_owner.expect("a running job has an owner");
        }
        assert_eq!(job["status"], "queued", "{job}");
        assert!(started.elapsed() < Duration::from_secs(30), "never claimed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let pid: u32 = owner
        .split('/')
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {owner:?}"));
    let (mut victim, _) = procs.remove(&pid).expect("the owner is one of ours");
    victim.0.kill().unwrap(); // SIGKILL
    let _ = victim.0.wait();
    assert_eq!(
        job_json(
            procs.values().find_map(|(_, a)| a.as_deref()).unwrap(),
            &token,
            id
        )["status"],
        "running",
        "killed mid-job"
    );
    let survivor = procs
        .values()
        .find_map(|(_, a)| a.clone())
        .expect("a replica still serves");
    let done = loop {
        let job = job_json(&survivor, &token, id);
        if job["status"] == "succeeded" || job["status"] == "failed" {
            break job;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "not finished: {job}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 2, "claimed again after the kill: {done}");
    assert!(done["result"]["run_id"].as_i64().is_some(), "{done}");
    // Every survivor answers for it and serves the model it trained.
    let version = done["result"]["model_version"].as_str().expect("a version");
    for (_, addr) in procs.values() {
        if let Some(addr) = addr {
            assert_eq!(job_json(addr, &token, id)["status"], "succeeded");
            let (status, body) = http(addr, "GET", "/v1/models", &token, "");
            assert_eq!(status, 200, "{body}");
            assert!(body.contains(version), "{addr} lacks {version}: {body}");
        }
    }
    drop(procs);
    db.finish().await;
}

/// A copy of the organisation with every open deal's amount raised by
/// `percent`, so an ingest of it changes rows.
fn changed_copy(org: &helpers::Org, percent: i64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (header, rows) = helpers::read_csv(&org.file("opportunities.csv"));
    let amount = header.iter().position(|h| h == "amount").unwrap();
    let mut out = csv::Writer::from_path(dir.path().join("opportunities.csv")).unwrap();
    out.write_record(&header).unwrap();
    for mut row in rows {
        if let Ok(v) = row[amount].parse::<f64>() {
            row[amount] = format!("{:.2}", v * (100 + percent) as f64 / 100.0);
        }
        out.write_record(&row).unwrap();
    }
    out.flush().unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_ingests_a_training_job_and_scoped_reads_race_without_a_5xx() {
    for backend in ["sqlite", "postgres"] {
        let db = match backend {
            "sqlite" => helpers::sqlite().await,
            _ => match helpers::postgres().await {
                Some(db) => db,
                None => continue,
            },
        };
        let s = super::api::served_on(db, true).await;
        let copies: Vec<_> = (1..=3).map(|p| changed_copy(&s.org, p)).collect();
        let url = s.db.url.clone();
        let models = s._models.path().to_owned();
        let dirs: Vec<_> = copies.iter().map(|d| d.path().to_owned()).collect();
        let ingests = std::thread::spawn(move || {
            dirs.iter()
                .map(|dir| {
                    attain_on(&url, &models)
                        .arg("ingest")
                        .arg(dir)
                        .args(["--as-of", "2030-01-01"])
                        .stdout(Stdio::null())
                        .output()
                        .expect("ingest")
                })
                .collect::<Vec<_>>()
        });
        let admin = s.tokens[&Role::Admin].clone();
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
        assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text());
        let location = format!("/v1/jobs/{}", started.json()["job_id"]);
        let uris = [
            "/v1/forecasts?level=rep".to_owned(),
            "/v1/opportunities?limit=50".to_owned(),
            "/v1/coaching".to_owned(),
            format!("/v1/commissions/statements/{}", s.rep),
            "/v1/forecasts/accuracy".to_owned(),
            "/v1/whoami".to_owned(),
        ];
        let (mut reads, mut server_errors) = (0, Vec::new());
        let begin = Instant::now();
        loop {
            for role in [Role::Manager, Role::Rep] {
                for uri in &uris {
                    let a = s.get(role, uri).await;
                    reads += 1;
                    if a.status.is_server_error() {
                        server_errors.push(format!("{role:?} {uri}: {} {}", a.status, a.text()));
                    }
                }
            }
            let job = s.get(Role::Admin, &location).await.json();
            let job_done = job["status"] == "succeeded" || job["status"] == "failed";
            if ingests.is_finished() && job_done && reads >= 200 {
                assert_eq!(job["status"], "succeeded", "{}: {job}", s.db.name);
                break;
            }
            assert!(
                begin.elapsed() < Duration::from_secs(300),
                "writes never finished"
            );
        }
        for out in ingests.join().unwrap() {
            assert!(
                out.status.success(),
                "{}: {}",
                s.db.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            server_errors.is_empty(),
            "{}: {} of {reads} reads failed: {server_errors:#?}",
            s.db.name,
            server_errors.len()
        );
        let name = s.db.name;
        drop(copies);
        let Served { db, .. } = s;
        eprintln!("{name}: {reads} scoped reads during the writes, none 5xx");
        db.finish().await;
    }
}
