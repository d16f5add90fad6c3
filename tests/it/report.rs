//! Charts: every chart as SVG and PNG through the API for each role, cut to
//! the caller's reach; the numbers behind them checked against independent
//! reads of the store; the dashboard's files; `attain report` writing a
//! folder that opens on its own.

use std::collections::BTreeMap;

use attain::api::Role;
use attain::domain::{Money, OpportunityStatus, Period};
use attain::features::{Level, SalesData};
use attain::forecast::Engine;
use attain::report::data::RunInfo;
use attain::report::{Body, ChartKind, folder};
use axum::http::StatusCode;

use super::api::{Answer, call, served};
use crate::helpers;

fn names(org: &helpers::Org) -> BTreeMap<String, String> {
    let (header, rows) = helpers::read_csv(&org.file("reps.csv"));
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    rows.iter()
        .map(|r| (r[col("rep_id")].clone(), r[col("name")].clone()))
        .collect()
}

fn assert_png(a: &Answer, what: &str) {
    assert_eq!(a.content_type, "image/png", "{what}");
    let img = resvg::tiny_skia::Pixmap::decode_png(&a.body)
        .unwrap_or_else(|e| panic!("{what}: not a PNG: {e}"));
    assert_eq!((img.width(), img.height()), (1000, 560), "{what}");
    // Something is drawn: axes, text and marks, not a blank canvas.
    let inked = img
        .pixels()
        .iter()
        .filter(|p| p.red() < 200 || p.green() < 200 || p.blue() < 200)
        .count();
    assert!(inked > 5_000, "{what}: only {inked} dark pixels");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_chart_is_served_as_svg_and_png_within_each_roles_reach() {
    let s = served(true).await;
    let names = names(&s.org);
    use Role::*;
    // Chart -> roles that may draw it (the others get 403).
    let allowed: Vec<(ChartKind, Vec<Role>)> = vec![
        (ChartKind::Forecast, Role::ALL.to_vec()),
        (ChartKind::Backtest, vec![Admin, Leader, Finance]),
        (ChartKind::Attainment, vec![Admin, Leader, Finance, Manager]),
        (ChartKind::Coaching, vec![Admin, Leader, Manager]),
        (ChartKind::Waterfall, Role::ALL.to_vec()),
        (ChartKind::Payouts, Role::ALL.to_vec()),
        (ChartKind::Calibration, Role::ALL.to_vec()),
    ];
    for (kind, roles) in &allowed {
        for role in Role::ALL {
            let uri = format!("/v1/reports/{kind}.svg");
            let a = s.get(role, &uri).await;
            if roles.contains(&role) {
                assert_eq!(a.status, StatusCode::OK, "{uri} as {role:?}: {}", a.text());
                assert_eq!(a.content_type, "image/svg+xml", "{uri}");
                let svg = a.text();
                assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "{uri}");
                // A scoped reader's chart never names anyone outside it.
                if matches!(role, Manager | Rep) {
                    for (id, name) in &names {
                        if !s.team.contains(id) {
                            assert!(
                                !svg.contains(&format!("{name} ({id})"))
                                    && !svg.contains(&format!(">{name}<"))
                                    && !svg.contains(&format!(". {name}<")),
                                "{uri} as {role:?} names {id} ({name})"
                            );
                        }
                    }
                }
            } else {
                assert_eq!(a.status, StatusCode::FORBIDDEN, "{uri} as {role:?}");
                assert!(a.is_problem());
            }
        }
        let png = s.get(Admin, &format!("/v1/reports/{kind}.png")).await;
        assert_eq!(png.status, StatusCode::OK, "{kind}.png: {}", png.text());
        assert_png(&png, &format!("{kind}.png"));
    }

    // Scoped tokens: their own entity by default, 403 beyond it.
    let manager_name = &names[&s.manager];
    let own = s.get(Manager, "/v1/reports/forecast.svg").await;
    assert!(
        own.text().contains(&format!("team of {manager_name}"))
            && !own.text().contains(&format!("({})", s.manager)),
        "a manager's default forecast is their team, named once"
    );
    let rep_name = &names[&s.rep];
    let own = s.get(Rep, "/v1/reports/payouts.svg").await;
    assert!(
        own.text().contains(rep_name),
        "a rep's payouts name the rep"
    );
    for (role, uri) in [
        (Manager, "/v1/reports/forecast.svg?level=company".to_owned()),
        (
            Manager,
            format!("/v1/reports/forecast.svg?level=rep&id={}", s.outsider),
        ),
        (
            Rep,
            format!("/v1/reports/waterfall.svg?level=manager&id={}", s.manager),
        ),
        (Manager, "/v1/reports/payouts.svg?level=region".to_owned()),
        (
            Manager,
            "/v1/reports/coaching.svg?level=manager&id=M002".to_owned(),
        ),
    ] {
        let a = s.get(role, &uri).await;
        assert_eq!(
            a.status,
            StatusCode::FORBIDDEN,
            "{uri} as {role:?}: {}",
            a.text()
        );
    }
    // Bad names and filters: problems, not images.
    for (uri, status) in [
        ("/v1/reports/pie.svg", StatusCode::NOT_FOUND),
        ("/v1/reports/forecast.gif", StatusCode::NOT_FOUND),
        (
            "/v1/reports/forecast.svg?level=rep&id=NOBODY",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/reports/attainment.svg?period=2024-13",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/reports/forecast.svg?level=rep",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/reports/waterfall.svg?from=2099-01-01",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let a = s.get(Admin, uri).await;
        assert_eq!(a.status, status, "{uri}: {}", a.text());
        assert!(a.is_problem(), "{uri}");
    }
    assert_eq!(
        call(
            &s.router,
            "GET",
            "/v1/reports/forecast.svg",
            None,
            None,
            None
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );

    // whoami and the dashboard's files.
    let me = s.get(Manager, "/v1/whoami").await.json();
    assert_eq!(me["role"], "manager");
    assert_eq!(me["scope"], s.manager.as_str());
    for (path, kind) in [
        ("/", "text/html"),
        ("/assets/dashboard.js", "text/javascript"),
        ("/assets/dashboard.css", "text/css"),
    ] {
        let a = call(&s.router, "GET", path, None, None, None).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert!(
            a.content_type.starts_with(kind),
            "{path}: {}",
            a.content_type
        );
        // Nothing is fetched from another host.
        let text = a.text();
        assert!(
            !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"),
            "{path} refers to another host"
        );
    }
}

/// The open pipeline expected in `period` on `day`, for everyone, read
/// through the store's own as-of query (not the chart's code).
async fn pipeline_in(
    store: &attain::store::Store,
    day: chrono::NaiveDate,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
) -> i64 {
    store
        .opportunities_as_of(day)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.status == OpportunityStatus::Open)
        .filter(|d| d.close_date.is_some_and(|c| c >= start && c <= end))
        .filter_map(|d| d.amount)
        .map(Money::cents)
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn chart_numbers_match_the_store_and_the_forecast_run() {
    let s = served(true).await;
    let store = &s.state.store;
    let data = SalesData::load(store, s.state.settings.fiscal)
        .await
        .unwrap();
    let engine = Engine::new(&data);
    let hierarchy = engine.hierarchy();
    let as_of = data.last_date;

    // Waterfall: opening and closing are the pipeline the store rebuilds for
    // each day, and the steps add up to the cent.
    let mut moved: std::collections::HashMap<String, usize> = Default::default();
    for (period, from) in [
        (data.fiscal.quarter_of(as_of), None),
        (
            data.fiscal.quarter_of(as_of + chrono::Duration::days(1)),
            Some(as_of - chrono::Duration::days(120)),
        ),
    ] {
        let span = folder::waterfall_span(&data, as_of, Some(period), from);
        let changes = folder::waterfall_changes(store, &data, (Level::Company, "company"), span)
            .await
            .unwrap();
        let chart = attain::report::data::waterfall(&changes).unwrap();
        let Body::Waterfall(w) = &chart.body else {
            panic!("not a waterfall")
        };
        let (start, end) = (data.fiscal.start(period), data.fiscal.end(period));
        assert_eq!(
            w.opening.amount.cents(),
            pipeline_in(store, span.1, start, end).await,
            "{period} opening"
        );
        assert_eq!(
            w.closing.amount.cents(),
            pipeline_in(store, span.2, start, end).await,
            "{period} closing"
        );
        let steps: i64 = w.steps.iter().map(|s| s.amount.cents()).sum();
        assert_eq!(
            w.opening.amount.cents() + steps,
            w.closing.amount.cents(),
            "{period}"
        );
        assert!(
            w.steps.iter().any(|s| s.deals > 0),
            "{period}: something moved"
        );
        let labels: Vec<&str> = w.steps.iter().map(|s| s.label.as_str()).collect();
        for named in [
            "new",
            "pulled in",
            "raised",
            "cut",
            "won",
            "lost",
            "slipped",
        ] {
            assert!(labels.contains(&named), "{labels:?}");
        }
        for step in &w.steps {
            *moved.entry(step.label.clone()).or_default() += step.deals;
        }
        // The forecast as it stood beside the levels, from the stored run
        // (which covers the periods after its day).
        if from.is_some() {
            assert!(w.forecast[1].is_some(), "{period}: the run's forecast");
        }
    }

    // The generated pipeline moves both ways: deals pulled in, amounts
    // raised and cut, not only pushed out.
    for kind in ["pulled in", "raised", "cut"] {
        assert!(moved[kind] > 0, "nothing {kind}: {moved:?}");
    }

    // Fan: the forecast months are the run's company lines, the history is
    // the company's bookings by month.
    let run = attain::jobs::stored(store, None, &Default::default())
        .await
        .unwrap();
    let info = RunInfo {
        run_id: run.run_id,
        as_of: run.as_of,
        model_version: run.model_version.clone(),
    };
    let chart = folder::fan(
        &data,
        hierarchy,
        &info,
        &run.forecasts,
        Level::Company,
        "company",
    )
    .unwrap();
    let Body::Fan(f) = &chart.body else { panic!() };
    let monthly: Vec<_> = run
        .forecasts
        .iter()
        .filter(|r| r.level == Level::Company && !r.period.contains('Q'))
        .collect();
    assert_eq!(f.forecast.len(), monthly.len());
    for (band, row) in f.forecast.iter().zip(&monthly) {
        assert!((band.p50 - row.p50.cents() as f64 / 100.0).abs() < 0.005);
        assert!(band.p10 <= band.p50 && band.p50 <= band.p90);
    }
    let last_month = f.months[f.history.len() - 1].clone();
    let period = Period::parse(&last_month).unwrap();
    let booked: i64 = data
        .bookings
        .iter()
        .filter(|b| data.fiscal.contains(period, b.day))
        .map(|b| b.cents)
        .sum();
    assert!((f.history[f.history.len() - 1] - booked as f64 / 100.0).abs() < 0.01);
    assert_eq!(f.months.len(), f.history.len() + f.forecast.len());

    // Attainment of a finished quarter: booked over quota per rep.
    let done = data.fiscal.quarter_of(as_of - chrono::Duration::days(100));
    let chart = folder::attainment(
        &data,
        hierarchy,
        &run.forecasts,
        Level::Company,
        "company",
        done,
        as_of,
    )
    .unwrap();
    let Body::Attainment(a) = &chart.body else {
        panic!()
    };
    assert!(!a.projected);
    assert!(!a.ratios.is_empty());
    let (qs, qe) = (data.fiscal.start(done), data.fiscal.end(done));
    let quota_reps = (0..data.reps.len())
        .filter(|&r| data.in_seat(r as u32, qe) && data.quota_between(r as u32, qs, qe) > 0.0)
        .count();
    assert_eq!(a.ratios.len(), quota_reps);
    assert!(chart.subtitle.contains("at or above quota"));
}

#[test]
fn attain_report_writes_every_chart_and_a_page_that_opens_on_its_own() {
    let work = tempfile::tempdir().unwrap();
    let org = helpers::small_org(24, 26, 13);
    let run = |args: &[&str]| {
        let out = super::cli::attain(work.path())
            .env("ATTAIN_MODELS_DIR", work.path().join("models"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "attain {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["ingest", org.path().to_str().unwrap()]);
    run(&[
        "forecast",
        "--horizon",
        "6",
        "--origins",
        "6",
        "--backtest-paths",
        "50",
    ]);
    let dir = work.path().join("report");
    let listed = run(&["report", "--out", dir.to_str().unwrap(), "--format", "json"]);
    let written: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(written["skipped"], serde_json::json!([]), "{listed}");
    for chart in [
        "forecast-company",
        "backtest",
        "attainment",
        "coaching",
        "waterfall",
        "payouts-reps",
        "payouts-teams",
        "calibration",
    ] {
        for ext in ["svg", "png"] {
            let path = dir.join(format!("{chart}.{ext}"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                bytes.len() > 2_000,
                "{} is {} bytes",
                path.display(),
                bytes.len()
            );
        }
    }
    assert!(std::fs::read_dir(&dir).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("forecast-region-")
    }));
    let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
    // The SVGs are inside the page; nothing is loaded from elsewhere.
    assert!(index.matches("<svg").count() >= 8, "inline charts");
    assert!(!index.contains("<script") && !index.contains("https://"));
    assert!(!index.contains(".partial"));
}

/// One GET over a fresh connection; the status line and the body.
fn http_get(addr: &str, path: &str, token: Option<&str>) -> (String, String) {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

#[test]
fn attain_demo_ingests_reports_and_serves_the_dashboard_with_a_working_admin_token() {
    use std::io::{BufRead, BufReader};
    let work = tempfile::tempdir().unwrap();
    let org = helpers::small_org(24, 26, 17);
    // A token left by an earlier demo run: the new run revokes it.
    let earlier = super::cli::attain(work.path())
        .args(["token", "create", "--role", "admin", "--name", "demo"])
        .output()
        .unwrap();
    assert!(earlier.status.success());
    let mut demo = super::cli::attain(work.path())
        .env("ATTAIN_MODELS_DIR", work.path().join("models"))
        .args(["demo", "--addr", "127.0.0.1:0", "--sample-dir"])
        .arg(org.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("demo");
    let mut stdout = BufReader::new(demo.stdout.take().unwrap());
    let mut printed = String::new();
    let mut line = String::new();
    let mut addr = None;
    let token = loop {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            let _ = demo.kill();
            panic!("the demo stopped before serving:\n{printed}");
        }
        printed.push_str(&line);
        if let Some(rest) = line.split("http://").nth(1) {
            addr = rest.split('/').next().map(str::to_owned);
        }
        if line.starts_with("att_") {
            break line.trim().to_owned();
        }
    };
    let addr = addr.expect("the URL is printed before the token");
    assert!(printed.contains("reports: "), "{printed}");
    assert!(!printed.contains("not drawn"), "{printed}");
    assert!(work.path().join("report/index.html").exists());
    let (status, page) = http_get(&addr, "/", None);
    assert!(status.contains("200"), "{status}");
    assert!(page.contains("attain dashboard"));
    let (status, body) = http_get(&addr, "/v1/whoami", Some(&token));
    assert!(status.contains("200"), "{status} {body}");
    assert!(body.contains("\"admin\""), "{body}");
    let (status, svg) = http_get(&addr, "/v1/reports/forecast.svg", Some(&token));
    assert!(status.contains("200") && svg.contains("<svg"), "{status}");
    std::process::Command::new("kill")
        .args(["-TERM", &demo.id().to_string()])
        .status()
        .unwrap();
    assert!(demo.wait().unwrap().success());
    let listed = super::cli::attain(work.path())
        .args(["token", "list", "--format", "json"])
        .output()
        .unwrap();
    let tokens: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let demo_tokens: Vec<_> = tokens
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] == "demo")
        .collect();
    assert_eq!(demo_tokens.len(), 2, "{tokens}");
    let live: Vec<_> = demo_tokens
        .iter()
        .filter(|t| t["revoked_at"].is_null())
        .collect();
    assert_eq!(live.len(), 1, "one demo token at a time: {tokens}");
    assert!(token.contains(live[0]["token_id"].as_str().unwrap()));
}
