//! The commission close on both back-ends: a closed statement never
//! changes (a changed booking, a changed plan, a re-ingest), the
//! difference is a prior-period adjustment in the next open period to the
//! cent, adjustments and disputes, the payroll export, plan versions, and
//! exactly one audit event per action (none for a failed one). Then the
//! rights of each role through the API.

use std::collections::BTreeMap;

use attain::api::{AppState, Role, create_token};
use attain::domain::{Money, Period};
use attain::ingest::ingest;
use attain::jobs::JobError;
use attain::jobs::close::{self, AdjustParams};
use attain::jobs::commissions::{self, CommissionParams, RepStatement};
use attain::store::{AuditFilter, Store};
use serde_json::Value;

use crate::commission::{FLAT_10, Org, plan};
use crate::helpers::{self, date};

fn settings() -> attain::config::Settings {
    attain::config::RawSettings::default()
        .validate()
        .expect("settings")
}

async fn load(store: &Store, org: &Org) {
    let dir = tempfile::tempdir().expect("temp dir");
    org.write(dir.path());
    ingest(
        store,
        &[dir.path().to_path_buf()],
        &helpers::options(date("2025-12-31")),
    )
    .await
    .expect("ingest");
}

async fn statement(store: &Store, rep: &str, period: &str) -> RepStatement {
    commissions::statement(
        store,
        &settings(),
        &CommissionParams {
            period: Some(Period::parse(period).unwrap()),
            id: Some(rep.to_owned()),
            ..CommissionParams::default()
        },
    )
    .await
    .expect("statement")
}

fn json(s: &RepStatement) -> String {
    // The closed statement as a client reads it, less the as-of day of the
    // request (the statement inside keeps the day it was closed on).
    let mut v = serde_json::to_value(s).unwrap();
    v.as_object_mut().unwrap().remove("as_of");
    v.to_string()
}

fn kinds(s: &RepStatement, kind: &str) -> Vec<(String, String)> {
    let v = serde_json::to_value(s).unwrap();
    v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == kind)
        .map(|l| {
            (
                l["amount"].as_str().unwrap().to_owned(),
                l["description"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn events(store: &Store) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for e in store.audit_events(&AuditFilter::default()).await.unwrap() {
        *out.entry(e.kind).or_default() += 1;
    }
    out
}

fn q(p: &str) -> Period {
    Period::parse(p).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_statement_never_changes_and_corrections_land_in_the_next_open_period() {
    for t in helpers::backends().await {
        let store = &t.store;
        let s = settings();
        // R1 on p (10%): 50,000 in Q1, 10,000 in Q2.
        let mut org = Org::new(&plan("", FLAT_10));
        org.deal("O1", "R1", "Core", "50000", "2025-02-01")
            .deal("O2", "R1", "Core", "10000", "2025-05-01")
            .deal("O8", "M1", "Core", "1000", "2025-10-01");
        load(store, &org).await;
        let before = events(store).await;
        assert_eq!(before.get("ingest"), Some(&1), "{before:?}");

        // A period not over cannot close; nothing is recorded.
        let err = close::close(store, &s, q("2026-Q1"), "finance")
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("after the data's last day"),
            "{err}"
        );
        let record = close::close(store, &s, q("2025-Q1"), "finance")
            .await
            .expect("close");
        assert_eq!(
            (record.statements, record.total.to_string()),
            (1, "5000.00".into())
        );
        let again = close::close(store, &s, q("2025-Q1"), "finance")
            .await
            .unwrap_err();
        assert!(again.to_string().contains("was closed on"), "{again}");
        let q1 = statement(store, "R1", "2025-Q1").await;
        assert_eq!(
            (q1.status.as_str(), q1.total.to_string()),
            ("closed", "5000.00".into())
        );
        let frozen = json(&q1);

        // A late booking of 20,000 in Q1: Q1 stays as closed; Q2 carries
        // +2,000.00 naming the booking.
        org.deal("O3", "R1", "Core", "20000", "2025-03-15");
        load(store, &org).await;
        assert_eq!(json(&statement(store, "R1", "2025-Q1").await), frozen);
        let q2 = statement(store, "R1", "2025-Q2").await;
        let prior = kinds(&q2, "prior_period");
        assert_eq!(prior.len(), 1, "{prior:?}");
        assert_eq!(prior[0].0, "2000.00");
        assert!(
            prior[0].1.contains("booking B-O3 added (20000.00)"),
            "{}",
            prior[0].1
        );
        assert_eq!(q2.total.to_string(), "3000.00"); // 10% of 10,000 + 2,000

        // A plan version dated back to 1 January (12%): a deliberate
        // correction of the closed quarter. Q1 unchanged; Q2 carries
        // 12% x 70,000 - 5,000 = 3,400.00 and pays 12% of its own 10,000.
        let retro = format!(
            "{}\n[[plan]]\nid = \"p\"\nperiod = \"quarter\"\neffective_from = \"2025-01-01\"\n[[plan.tier]]\nfrom = \"0%\"\nrate = \"12%\"\n",
            plan("", FLAT_10)
        );
        org.plans = retro;
        load(store, &org).await;
        assert_eq!(json(&statement(store, "R1", "2025-Q1").await), frozen);
        let q2 = statement(store, "R1", "2025-Q2").await;
        let prior = kinds(&q2, "prior_period");
        assert_eq!(prior[0].0, "3400.00");
        assert!(prior[0].1.contains("plan p version"), "{}", prior[0].1);
        assert_eq!(q2.total.to_string(), "4600.00");
        // The same files again change nothing, and record nothing.
        let n = events(store).await;
        load(store, &org).await;
        assert_eq!(events(store).await, n);
        assert_eq!(json(&statement(store, "R1", "2025-Q1").await), frozen);

        // An undated change after the close takes effect from the first
        // open day: 15% from 1 April, the closed quarter's terms kept.
        org.plans = plan("", "[[plan.tier]]\nfrom = \"0%\"\nrate = \"15%\"");
        load(store, &org).await;
        let versions = close::versions(store, &s, "p").await.expect("versions");
        let in_book: Vec<String> = versions
            .iter()
            .filter(|v| v.in_book)
            .map(|v| format!("{:?}", v.stored.effective_from))
            .collect();
        assert_eq!(
            in_book,
            ["None", "Some(2025-01-01)", "Some(2025-04-01)"],
            "{versions:?}"
        );
        let q2 = statement(store, "R1", "2025-Q2").await;
        assert_eq!(kinds(&q2, "prior_period")[0].0, "3400.00");
        assert_eq!(q2.total.to_string(), "4900.00"); // 15% of 10,000 + 3,400

        // A manual adjustment on the open quarter; none on the closed one.
        let adj = |period: &str, amount: &str| AdjustParams {
            rep_id: "R1".into(),
            period: q(period),
            amount: Money::parse(amount).unwrap(),
            reason: "SPIFF paid outside the plan".into(),
        };
        let n = events(store).await;
        let err = close::adjust(store, &s, &adj("2025-Q1", "100"), "finance")
            .await
            .unwrap_err();
        assert!(matches!(err, JobError::Commission(_)), "{err}");
        assert_eq!(events(store).await, n, "a failed action records nothing");
        close::adjust(store, &s, &adj("2025-Q2", "250.50"), "finance")
            .await
            .expect("adjust");
        let q2 = statement(store, "R1", "2025-Q2").await;
        assert_eq!(kinds(&q2, "adjustment")[0].0, "250.50");
        assert_eq!(q2.total.to_string(), "5150.50");

        // Disputes need a published statement; one open at a time.
        let err = close::dispute(store, "R1", q("2025-Q1"), "missing deal", "R1")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not published"), "{err}");
        close::publish(store, q("2025-Q1"), "finance")
            .await
            .expect("publish");
        assert_eq!(statement(store, "R1", "2025-Q1").await.status, "published");
        let d = close::dispute(store, "R1", q("2025-Q1"), "missing deal", "R1")
            .await
            .unwrap();
        assert!(
            close::dispute(store, "R1", q("2025-Q1"), "again", "R1")
                .await
                .is_err()
        );
        let done = close::resolve(
            store,
            &s,
            d.dispute_id,
            "credited",
            Some(Money::parse("99.99").unwrap()),
            "finance",
        )
        .await
        .expect("resolve");
        assert_eq!(done.state, "resolved");
        assert!(
            close::resolve(store, &s, d.dispute_id, "twice", None, "finance")
                .await
                .is_err()
        );
        let q2 = statement(store, "R1", "2025-Q2").await;
        assert_eq!(q2.total.to_string(), "5250.49");

        // Close Q2: the corrections are paid there, once; Q3 carries none.
        let record = close::close(store, &s, q("2025-Q2"), "finance")
            .await
            .expect("close Q2");
        assert_eq!(record.total.to_string(), "5250.49");
        let q3 = statement(store, "R1", "2025-Q3").await;
        assert!(
            kinds(&q3, "prior_period").is_empty(),
            "{:?}",
            kinds(&q3, "prior_period")
        );

        // The payroll file adds up to the closed statements to the cent.
        let rows = close::export(store, &s, q("2025-Q2"))
            .await
            .expect("export");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            close::payroll_totals(&rows)
                .iter()
                .map(|(c, t)| format!("{c} {t}"))
                .collect::<Vec<_>>(),
            ["USD 5250.49"]
        );
        assert_eq!(rows[0].adjustments.to_string(), "3750.49"); // 3,400 + 250.50 + 99.99
        assert_eq!(rows[0].currency, "USD");
        assert!(close::export(store, &s, q("2025-Q3")).await.is_err());

        // One event per action that changed something.
        let got = events(store).await;
        let want: BTreeMap<String, usize> = [
            ("ingest", 2),
            ("plan_version", 2),
            ("close", 2),
            ("publish", 1),
            ("adjustment", 1),
            ("dispute", 1),
            ("resolve", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(got, want);
        // The trail cannot be edited, even from SQL.
        let tamper = match store {
            Store::Sqlite(pool) => sqlx::query("UPDATE audit_events SET actor = 'x'")
                .execute(pool)
                .await
                .is_err(),
            Store::Postgres(pool) => sqlx::query("DELETE FROM audit_events")
                .execute(pool)
                .await
                .is_err(),
        };
        assert!(tamper, "the audit trail refused a change");
        t.finish().await;
    }
}

#[tokio::test]
async fn a_plan_version_dated_ahead_changes_nothing_before_it_and_splits_its_quarter() {
    // p pays 10%; a version from 15 February pays 20%. Q1 is cut at the
    // version: 1 January - 14 February (10% of 30,000 = 3,000.00) and
    // 15 February - 31 March (20% of 40,000 = 8,000.00).
    let plans = format!(
        "{}\n[[plan]]\nid = \"p\"\nperiod = \"quarter\"\neffective_from = \"2025-02-15\"\n[[plan.tier]]\nfrom = \"0%\"\nrate = \"20%\"\n",
        plan("", FLAT_10)
    );
    let mut org = Org::new(&plans);
    org.deal("O1", "R1", "Core", "30000", "2025-02-01").deal(
        "O2",
        "R1",
        "Core",
        "40000",
        "2025-03-01",
    );
    let all = org.statements("R1", "2025-04-15", "2025-03-01").await;
    let q1: Vec<(String, String, String)> = all
        .iter()
        .filter(|s| s.period == "2025-Q1")
        .map(|s| {
            (
                s.start.to_string(),
                s.plan_version.clone(),
                format!("{:.2}", s.total),
            )
        })
        .collect();
    assert_eq!(q1.len(), 2, "{q1:?}");
    assert_eq!(
        (q1[0].0.as_str(), q1[0].2.as_str()),
        ("2025-01-01", "3000.00")
    );
    assert_eq!(
        (q1[1].0.as_str(), q1[1].2.as_str()),
        ("2025-02-15", "8000.00")
    );
    assert_ne!(q1[0].1, q1[1].1, "each names its version");
    // A version dated after the data changes nothing before its day.
    let later = format!(
        "{}\n[[plan]]\nid = \"p\"\nperiod = \"quarter\"\neffective_from = \"2026-01-01\"\n[[plan.tier]]\nfrom = \"0%\"\nrate = \"50%\"\n",
        plan("", FLAT_10)
    );
    let mut org = Org::new(&later);
    org.deal("O1", "R1", "Core", "30000", "2025-02-01");
    let s = org.statement("R1", "2025-04-15", "2025-02-01").await;
    assert_eq!(format!("{:.2}", s.total), "3000.00");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_may_do_only_its_part_of_the_close() {
    let t = helpers::sqlite().await;
    let mut org = Org::new(&plan("", FLAT_10));
    org.plan_ids.insert("R2", "p");
    org.deal("O1", "R1", "Core", "50000", "2025-02-01")
        .deal("O2", "R2", "Core", "20000", "2025-02-01")
        .deal("O8", "M1", "Core", "1000", "2025-04-10");
    load(&t.store, &org).await;
    let models = tempfile::tempdir().unwrap();
    let settings = crate::api::api_settings(models.path());
    let mut tokens = BTreeMap::new();
    for (name, role, scope) in [
        ("admin", Role::Admin, None),
        ("finance", Role::Finance, None),
        ("leader", Role::Leader, None),
        ("manager", Role::Manager, Some("M1")),
        ("r1", Role::Rep, Some("R1")),
        ("r2", Role::Rep, Some("R2")),
    ] {
        let (_, token) = create_token(&t.store, role, scope, Some(name), None)
            .await
            .unwrap();
        tokens.insert(name, token);
    }
    let state = std::sync::Arc::new(AppState::new(t.store.clone(), settings));
    let (router, _) = attain::api::router(state);
    let call = |who: &'static str, method: &'static str, uri: &str, body: Option<Value>| {
        let router = router.clone();
        let token = tokens[who].clone();
        let uri = uri.to_owned();
        async move {
            crate::api::call(
                &router,
                method,
                &uri,
                Some(&token),
                body.map(|b| ("application/json", b.to_string().into_bytes())),
                None,
            )
            .await
        }
    };
    let head = |store: Store| async move { store.audit_head().await.unwrap() };
    // Only finance and admin close; a refused attempt records nothing.
    let n = head(t.store.clone()).await;
    for who in ["leader", "manager", "r1"] {
        let a = call(who, "POST", "/v1/commissions/periods/2025-Q1/close", None).await;
        assert_eq!(a.status, 403, "{who}: {}", a.text());
    }
    assert_eq!(head(t.store.clone()).await, n);
    let a = call(
        "finance",
        "POST",
        "/v1/commissions/periods/2025-Q1/close",
        None,
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.text());
    assert!(
        a.json()["closed_by"]
            .as_str()
            .unwrap()
            .starts_with("finance (finance")
    );
    // Reps see a closed statement only once it is published.
    let mine = "/v1/commissions/statements/R1?period=2025-Q1";
    assert_eq!(call("r1", "GET", mine, None).await.status, 404);
    assert_eq!(call("finance", "GET", mine, None).await.status, 200);
    let dispute = serde_json::json!({"reason": "O9 is mine"});
    let a = call(
        "r1",
        "POST",
        "/v1/commissions/statements/R1/2025-Q1/dispute",
        Some(dispute.clone()),
    )
    .await;
    assert_eq!(a.status, 409, "{}", a.text());
    let a = call(
        "r1",
        "POST",
        "/v1/commissions/periods/2025-Q1/publish",
        None,
    )
    .await;
    assert_eq!(a.status, 403);
    let a = call(
        "admin",
        "POST",
        "/v1/commissions/periods/2025-Q1/publish",
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(
        call("r1", "GET", mine, None).await.json()["status"],
        "published"
    );
    // A rep disputes only their own statement; finance cannot open one.
    let n = head(t.store.clone()).await;
    for (who, uri) in [
        ("r2", "/v1/commissions/statements/R1/2025-Q1/dispute"),
        ("finance", "/v1/commissions/statements/R1/2025-Q1/dispute"),
        ("manager", "/v1/commissions/statements/R1/2025-Q1/dispute"),
    ] {
        let a = call(who, "POST", uri, Some(dispute.clone())).await;
        assert_eq!(a.status, 403, "{who}: {}", a.text());
    }
    assert_eq!(head(t.store.clone()).await, n, "refusals leave no event");
    let a = call(
        "r1",
        "POST",
        "/v1/commissions/statements/R1/2025-Q1/dispute",
        Some(dispute),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.text());
    let id = a.json()["dispute_id"].as_i64().unwrap();
    // R2 does not see R1's dispute; finance does.
    let a = call("r2", "GET", "/v1/commissions/disputes", None).await;
    assert_eq!(a.json()["disputes"].as_array().unwrap().len(), 0);
    let a = call(
        "finance",
        "GET",
        "/v1/commissions/disputes?state=open",
        None,
    )
    .await;
    assert_eq!(a.json()["disputes"].as_array().unwrap().len(), 1);
    // Only finance and admin resolve.
    let resolve = format!("/v1/commissions/disputes/{id}/resolve");
    let body = serde_json::json!({"note": "credited O9", "amount": "120.00"});
    assert_eq!(
        call("r1", "POST", &resolve, Some(body.clone()))
            .await
            .status,
        403
    );
    let a = call("finance", "POST", &resolve, Some(body)).await;
    assert_eq!(a.status, 200, "{}", a.text());
    let a = call("r1", "GET", "/v1/commissions/disputes", None).await;
    assert_eq!(a.json()["disputes"][0]["resolution"], "credited O9");
    // The payroll export and the audit trail: finance and admin only.
    let a = call(
        "finance",
        "GET",
        "/v1/commissions/export?period=2025-Q1",
        None,
    )
    .await;
    assert_eq!(a.status, 200);
    let csv = a.text();
    assert!(
        csv.starts_with("rep_id,name,period,currency,amount,adjustments"),
        "{csv}"
    );
    assert!(csv.contains("R1,Rep R1,2025-Q1,USD,5000.00,0.00"), "{csv}");
    assert!(csv.contains("R2,Rep R2,2025-Q1,USD,2000.00,0.00"), "{csv}");
    for who in ["leader", "manager", "r1"] {
        assert_eq!(
            call(who, "GET", "/v1/commissions/export?period=2025-Q1", None)
                .await
                .status,
            403
        );
        assert_eq!(call(who, "GET", "/v1/audit", None).await.status, 403);
    }
    let a = call("admin", "GET", "/v1/audit?kind=resolve", None).await;
    let events = a.json()["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert!(events[0]["actor"].as_str().unwrap().starts_with("finance"));
    assert_eq!(events[0]["after"]["state"], "resolved");
    let a = call("finance", "GET", "/v1/plans/p/versions", None).await;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["versions"].as_array().unwrap().len(), 1);
    // A version from a day, through PUT: added beside the undated terms.
    let version = serde_json::json!({
        "period": "quarter", "effective_from": "2025-07-01",
        "tier": [{"from": "0%", "rate": "20%"}]
    });
    let a = call("finance", "PUT", "/v1/plans/p", Some(version)).await;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["plan"]["effective_from"], "2025-07-01");
    let a = call("finance", "GET", "/v1/plans/p/versions", None).await;
    let listed = a.json()["versions"].as_array().unwrap().clone();
    let in_book: Vec<&Value> = listed.iter().filter(|v| v["in_book"] == true).collect();
    assert_eq!(in_book.len(), 2, "{listed:?}");
    assert_eq!(in_book[0]["effective_to"], "2025-06-30");
    let a = call("admin", "GET", "/v1/audit?kind=plan_version", None).await;
    assert_eq!(a.json()["events"].as_array().unwrap().len(), 1);
    t.finish().await;
}

#[tokio::test]
async fn a_period_cut_differently_after_its_close_is_corrected_whole() {
    // Q1 closed under p (10% of 30,000 = 3,000.00). Then a January ramp
    // assignment (8%, monthly) cuts Q1 into January (8% of 10,000 =
    // 800.00, matched to the closed statement by its first day) and
    // February-March under p (10% of 20,000 = 2,000.00, overlapping the
    // closed quarter): 800 - 3,000 + 2,000 = -200.00 in Q2, and Q1 reads as
    // it was closed.
    let t = helpers::sqlite().await;
    let store = &t.store;
    let mut org = Org::new(&plan("", FLAT_10));
    org.deal("O1", "R1", "Core", "10000", "2025-01-15")
        .deal("O2", "R1", "Core", "20000", "2025-02-15")
        .deal("O8", "M1", "Core", "1000", "2025-10-01");
    load(store, &org).await;
    close::close(store, &settings(), q("2025-Q1"), "finance")
        .await
        .expect("close");
    let frozen = json(&statement(store, "R1", "2025-Q1").await);
    let mut plans = plan("", FLAT_10);
    plans.push_str("\n[[plan]]\nid = \"ramp\"\nperiod = \"month\"\n[[plan.tier]]\nfrom = \"0%\"\nrate = \"8%\"\n");
    plans.push_str("\n[[assignment]]\nrep_id = \"R1\"\nplan = \"ramp\"\nfrom = \"2025-01-01\"\nto = \"2025-01-31\"\n");
    org.plans = plans;
    load(store, &org).await;
    assert_eq!(json(&statement(store, "R1", "2025-Q1").await), frozen);
    let q2 = statement(store, "R1", "2025-Q2").await;
    let prior: Vec<String> = kinds(&q2, "prior_period")
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(
        prior,
        ["-2200.00", "2000.00"],
        "{:?}",
        kinds(&q2, "prior_period")
    );
    assert_eq!(q2.total.to_string(), "-200.00");
    t.finish().await;
}
