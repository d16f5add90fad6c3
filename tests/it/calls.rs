//! Forecast calls: who may call what (on both back-ends), every submission
//! kept, and the roll-up's sums and adjustments beside the model.

use attain::api::Role;
use attain::calls::{CallError, CallInput, Submitter};
use attain::config::RawSettings;
use attain::domain::{Money, Period};
use attain::jobs::JobError;
use attain::jobs::calls::{ListParams, list, submit};
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde_json::Value;

use super::api::{call, served};
use crate::helpers;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn money(s: &str) -> Money {
    Money::parse(s).unwrap()
}

fn input(person: &str, period: &str, commit: &str) -> CallInput {
    CallInput {
        person_id: person.to_owned(),
        period: Period::parse(period).unwrap(),
        commit: money(commit),
        best_case: None,
        pipeline: None,
        note: None,
    }
}

async fn try_call(
    store: &attain::store::Store,
    settings: &attain::config::Settings,
    submitter: Submitter<'static>,
    who: String,
    period: &str,
    today: NaiveDate,
) -> Result<attain::domain::Call, JobError> {
    submit(
        store,
        settings,
        submitter,
        "t",
        &input(&who, period, "1000"),
        today,
    )
    .await
}

#[tokio::test]
async fn who_may_call_what_on_both_back_ends_and_refusals_store_nothing() {
    for db in helpers::backends().await {
        let org = helpers::small_org(16, 14, 3);
        super::forecast::load(&db.store, org.path()).await;
        let settings = RawSettings::default().validate().unwrap();
        let (header, rows) = helpers::read_csv(&org.file("reps.csv"));
        let col = |n: &str| header.iter().position(|h| h == n).unwrap();
        let (id, manager_of) = (col("rep_id"), col("manager_id"));
        let manager: &'static str = "M001";
        let mine: &'static str = rows
            .iter()
            .find(|r| r[manager_of] == manager)
            .map(|r| &*Box::leak(r[id].clone().into_boxed_str()))
            .expect("a rep under M001");
        let other = rows
            .iter()
            .find(|r| r[manager_of] == "M002")
            .map(|r| r[id].clone())
            .expect("a rep under M002");
        let top = rows
            .iter()
            .find(|r| r[manager_of].is_empty())
            .map(|r| r[id].clone())
            .expect("the head of the organisation");
        let today = day("2027-01-10");
        let period = "2027-Q1";
        let ok = |s: Submitter<'static>, who: &str| {
            try_call(&db.store, &settings, s, who.to_owned(), period, today)
        };
        // Allowed.
        let own = ok(Submitter::Rep(mine), mine)
            .await
            .expect("a rep's own call");
        assert!(!own.on_behalf);
        let team = ok(Submitter::Manager(manager), manager)
            .await
            .expect("own team");
        assert!(!team.on_behalf);
        let behalf = ok(Submitter::Manager(manager), mine)
            .await
            .expect("on behalf of a rep under them");
        assert!(behalf.on_behalf, "{}: recorded as on behalf", db.name);
        ok(Submitter::Leader, &top).await.expect("a leader's call");
        ok(Submitter::Admin, &other)
            .await
            .expect("admin calls anything");
        // Refused, nothing stored.
        let before = db.store.calls_for(period).await.unwrap().len();
        for (submitter, person) in [
            (Submitter::Rep(mine), other.as_str()),
            (Submitter::Manager(manager), other.as_str()),
            (Submitter::Leader, mine),
            (Submitter::Other, mine),
        ] {
            let refused = ok(submitter, person).await.expect_err("not theirs");
            assert!(
                matches!(refused, JobError::Call(CallError::NotYours(_))),
                "{}: {submitter:?} for {person}: {refused}",
                db.name
            );
        }
        let unknown = ok(Submitter::Admin, "NOBODY")
            .await
            .expect_err("no such person");
        assert!(matches!(
            unknown,
            JobError::Call(CallError::UnknownPerson(_))
        ));
        let finished = submit(
            &db.store,
            &settings,
            Submitter::Admin,
            "t",
            &input(mine, "2026-Q4", "5"),
            today,
        )
        .await
        .expect_err("a finished period");
        assert!(finished.to_string().contains("2026-12-31"), "{finished}");
        let mut bad = input(mine, period, "100");
        bad.best_case = Some(money("50"));
        let bad = submit(&db.store, &settings, Submitter::Admin, "t", &bad, today)
            .await
            .expect_err("best case under commit");
        assert!(bad.to_string().contains("best_case"), "{bad}");
        assert_eq!(db.store.calls_for(period).await.unwrap().len(), before);
        // Every submission is kept; the latest counts.
        submit(
            &db.store,
            &settings,
            Submitter::Rep(mine),
            "t",
            &input(mine, period, "1500"),
            today,
        )
        .await
        .unwrap();
        let rolled = list(
            &db.store,
            &settings,
            &ListParams {
                person: Some(manager.to_owned()),
                period: Some(Period::parse(period).unwrap()),
                as_of: Some(today),
            },
        )
        .await
        .unwrap();
        let line = rolled
            .calls
            .iter()
            .find(|l| l.person_id == mine)
            .expect("the rep's line");
        assert_eq!(line.commit, Some(money("1500")), "{}", db.name);
        assert_eq!(db.store.calls_for(period).await.unwrap().len(), before + 1);
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_roll_up_sums_direct_reports_shows_the_adjustment_and_the_model() {
    let s = served(true).await;
    let forecasts = s
        .get(Role::Leader, "/v1/forecasts?level=manager&id=M001")
        .await;
    let period = forecasts.json()["forecasts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["period"].as_str().unwrap().to_owned())
        .find(|p| p.contains('Q'))
        .expect("a quarter in the run");
    let post = |role: Role, body: Value| {
        let token = s.tokens[&role].clone();
        let router = s.router.clone();
        async move {
            call(
                &router,
                "POST",
                "/v1/calls",
                Some(&token),
                Some(("application/json", body.to_string().into_bytes())),
                None,
            )
            .await
        }
    };
    // Through the API, for a period still to come: rights and answers.
    let next = "2027-Q1";
    let a = post(
        Role::Rep,
        serde_json::json!({"person_id": s.rep, "period": next, "commit": "10.00"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    assert_eq!(a.json()["on_behalf"], false);
    let a = post(
        Role::Manager,
        serde_json::json!({"person_id": s.rep, "period": next, "commit": "12"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    assert_eq!(a.json()["on_behalf"], true, "a manager for their rep");
    for (role, person) in [
        (Role::Rep, s.outsider.as_str()),
        (Role::Manager, s.outsider.as_str()),
        (Role::Finance, s.rep.as_str()),
    ] {
        let a = post(
            role,
            serde_json::json!({"person_id": person, "period": next, "commit": "1"}),
        )
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{role:?}: {}", a.text());
        assert!(a.is_problem());
    }
    for (body, status) in [
        (
            serde_json::json!({"person_id": s.rep, "period": next, "commit": "-5"}),
            400,
        ),
        (
            serde_json::json!({"person_id": s.rep, "period": "2027-Q9", "commit": "5"}),
            400,
        ),
        (
            serde_json::json!({"person_id": s.rep, "period": "2020-Q1", "commit": "5"}),
            422,
        ),
        (serde_json::json!({"person_id": s.rep, "period": next}), 400),
    ] {
        let a = post(Role::Admin, body.clone()).await;
        assert_eq!(a.status.as_u16(), status, "{body}: {}", a.text());
    }
    // The run's quarter lies in this organisation's past: its calls are
    // made as on a day inside it.
    let settings = s.state.settings.clone();
    let p = Period::parse(&period).unwrap();
    let then = settings.fiscal.start(p);
    for (submitter, person, commit, note) in [
        (
            Submitter::Rep(s.rep.as_str()),
            s.rep.as_str(),
            "1000.00",
            Some("two deals"),
        ),
        (
            Submitter::Manager(s.manager.as_str()),
            s.manager.as_str(),
            "9000",
            None,
        ),
    ] {
        let mut c = input(person, &period, commit);
        c.note = note.map(str::to_owned);
        submit(&s.db.store, &settings, submitter, "t", &c, then)
            .await
            .expect("a call");
    }
    // Calls as of a day after the run, so its range is shown.
    let uri = format!("/v1/calls?period={period}&as_of=2031-01-01");
    let got = s.get(Role::Manager, &uri).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text());
    let list = got.json();
    let lines = list["calls"].as_array().unwrap();
    assert_eq!(
        lines[0]["person_id"],
        s.manager.as_str(),
        "the manager first"
    );
    for l in lines {
        let id = l["person_id"].as_str().unwrap();
        assert!(s.team.contains(id), "{id} outside the manager's team");
    }
    let head = &lines[0];
    let direct: Vec<&Value> = lines
        .iter()
        .filter(|l| l["manager_id"] == s.manager.as_str())
        .collect();
    let called: i64 = direct
        .iter()
        .filter_map(|l| l["commit"].as_str())
        .map(|c| money(c).cents())
        .sum();
    assert_eq!(
        money(head["reports_commit"].as_str().unwrap()).cents(),
        called
    );
    assert_eq!(
        money(head["adjustment"].as_str().unwrap()).cents(),
        money("9000").cents() - called,
        "{head}"
    );
    assert_eq!(
        head["reports_not_called"].as_u64().unwrap() as usize,
        direct.iter().filter(|l| l["called"] == false).count()
    );
    assert!(
        head["model"]["p50"].is_string(),
        "the model's range: {head}"
    );
    let rep_line = lines
        .iter()
        .find(|l| l["person_id"] == s.rep.as_str())
        .unwrap();
    assert_eq!(rep_line["commit"], "1000.00");
    assert_eq!(rep_line["note"], "two deals");
    // A rep sees only their own line; an id outside the reach is 403.
    let mine = s.get(Role::Rep, &uri).await.json();
    assert_eq!(mine["calls"].as_array().unwrap().len(), 1, "{mine}");
    let outside = s
        .get(Role::Manager, &format!("{uri}&id={}", s.outsider))
        .await;
    assert_eq!(outside.status, StatusCode::FORBIDDEN);
    // Calls outlive the server: a new one over the same store has them.
    let again = attain::api::AppState::new(s.db.store.clone(), s.state.settings.clone());
    let (router, _) = attain::api::router(std::sync::Arc::new(again));
    let after = call(
        &router,
        "GET",
        &uri,
        Some(&s.tokens[&Role::Manager]),
        None,
        None,
    )
    .await;
    assert_eq!(after.json()["calls"], list["calls"]);
}

#[tokio::test]
async fn past_calls_import_from_calls_csv_once_and_bad_rows_are_named() {
    for db in helpers::backends().await {
        let org = helpers::small_org(16, 14, 3);
        super::forecast::load(&db.store, org.path()).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("calls.csv");
        std::fs::write(
            &file,
            "person_id,period,submitted_at,commit,best_case,note\n\
             M001,2024-Q1,2024-01-08,50000,65000,first week\n\
             M001,2024-Q1,2024-01-15T09:30:00Z,52000.50,,\n\
             M002,2024-Q1,2024-01-08,40000,,\n",
        )
        .unwrap();
        let options = helpers::options(day("2030-01-01"));
        let first = attain::ingest::ingest(&db.store, std::slice::from_ref(&file), &options)
            .await
            .expect("imported");
        let t = &first.tables["calls"];
        assert_eq!((t.rows, t.inserted, t.unchanged), (3, 3, 0), "{}", db.name);
        let again = attain::ingest::ingest(&db.store, std::slice::from_ref(&file), &options)
            .await
            .expect("again");
        let t = &again.tables["calls"];
        assert_eq!(
            (t.inserted, t.unchanged),
            (0, 3),
            "{}: nothing twice",
            db.name
        );
        let settings = RawSettings::default().validate().unwrap();
        let rolled = list(
            &db.store,
            &settings,
            &ListParams {
                person: Some("M001".into()),
                period: Some(Period::parse("2024-Q1").unwrap()),
                as_of: Some(day("2024-01-10")),
            },
        )
        .await
        .unwrap();
        assert_eq!(
            rolled.calls[0].commit,
            Some(money("50000")),
            "as of the 10th"
        );
        // Bad rows: each named by row and column; nothing stored.
        std::fs::write(
            &file,
            "person_id,period,submitted_at,commit,best_case\n\
             NOBODY,2024-Q1,2024-01-08,1,\n\
             M001,2024-Q5,2024-01-08,1,\n\
             M001,2024-Q1,last week,1,\n\
             M001,2024-Q1,2024-01-09,-3,\n\
             M001,2024-Q1,2024-01-09,10,5\n",
        )
        .unwrap();
        let before = db.store.calls_for("2024-Q1").await.unwrap().len();
        let refused = attain::ingest::ingest(&db.store, std::slice::from_ref(&file), &options)
            .await
            .expect_err("bad rows");
        let attain::ingest::IngestError::Invalid(report) = refused else {
            panic!("not a validation report: {refused}");
        };
        let at: Vec<(Option<usize>, Option<String>)> = report
            .problems
            .iter()
            .map(|p| (p.row, p.column.clone()))
            .collect();
        for (row, column) in [
            (2, "person_id"),
            (3, "period"),
            (4, "submitted_at"),
            (5, "commit"),
            (6, "best_case"),
        ] {
            assert!(
                at.contains(&(Some(row), Some(column.to_owned()))),
                "{}: row {row} {column} in {at:?}",
                db.name
            );
        }
        assert_eq!(db.store.calls_for("2024-Q1").await.unwrap().len(), before);
        db.finish().await;
    }
}

#[tokio::test]
async fn call_accuracy_tells_a_sandbagger_from_an_optimist() {
    let db = helpers::sqlite().await;
    let org = helpers::small_org(16, 14, 3);
    // Only the two calls below: not the generated weekly calls.
    std::fs::remove_file(org.file("calls.csv")).unwrap();
    super::forecast::load(&db.store, org.path()).await;
    let settings = RawSettings::default().validate().unwrap();
    let fiscal = settings.fiscal;
    // Each manager's team, and what it booked in a quarter fully inside
    // the data.
    let (header, reps) = helpers::read_csv(&org.file("reps.csv"));
    let col = |h: &[String], n: &str| h.iter().position(|x| x == n).unwrap();
    let (id, boss) = (col(&header, "rep_id"), col(&header, "manager_id"));
    let under = |m: &str| -> Vec<String> {
        let mut team = vec![m.to_owned()];
        loop {
            let before = team.len();
            for r in &reps {
                if team.contains(&r[boss]) && !team.contains(&r[id]) {
                    team.push(r[id].clone());
                }
            }
            if team.len() == before {
                return team;
            }
        }
    };
    let (bh, bookings) = helpers::read_csv(&org.file("bookings.csv"));
    let (who, amount, when) = (
        col(&bh, "rep_id"),
        col(&bh, "amount"),
        col(&bh, "booked_date"),
    );
    let last = bookings.iter().map(|b| day(&b[when])).max().unwrap();
    let quarter = fiscal.quarter_of(last - chrono::Duration::days(100));
    let (start, end) = (fiscal.start(quarter), fiscal.end(quarter));
    let booked = |team: &[String]| -> i64 {
        bookings
            .iter()
            .filter(|b| team.contains(&b[who]))
            .filter(|b| (start..=end).contains(&day(&b[when])))
            .map(|b| money(&b[amount]).cents())
            .sum()
    };
    let (low, high) = (booked(&under("M001")), booked(&under("M002")));
    assert!(low > 0 && high > 0, "both teams booked in {quarter}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("calls.csv");
    let cents = |c: i64| format!("{}.{:02}", c / 100, c % 100);
    let sandbag = low * 8 / 10;
    let optimist = high * 12 / 10;
    std::fs::write(
        &file,
        format!(
            "person_id,period,submitted_at,commit\n\
             M001,{quarter},{start},{}\nM002,{quarter},{start},{}\n",
            cents(sandbag),
            cents(optimist)
        ),
    )
    .unwrap();
    attain::ingest::ingest(
        &db.store,
        std::slice::from_ref(&file),
        &helpers::options(day("2030-01-01")),
    )
    .await
    .expect("calls imported");
    let scored = attain::jobs::calls::accuracy(
        &db.store,
        &settings,
        &attain::jobs::calls::AccuracyParams::default(),
        day("2031-01-01"),
    )
    .await
    .unwrap();
    assert_eq!(scored.periods, [quarter.to_string()]);
    let of = |p: &str| scored.people.iter().find(|a| a.person_id == p).unwrap();
    let expect = |a: i64, b: i64| (a - b) as f64 / b as f64;
    let (m1, m2) = (of("M001"), of("M002"));
    assert!(
        (m1.call_bias.unwrap() - expect(sandbag, low)).abs() < 1e-9,
        "{m1:?}"
    );
    assert!(
        (m2.call_bias.unwrap() - expect(optimist, high)).abs() < 1e-9,
        "{m2:?}"
    );
    assert!(m1.call_bias.unwrap() < -0.19 && m2.call_bias.unwrap() > 0.19);
    assert_eq!(m1.points, accuracy_points(start, end));
    assert_eq!(m1.model_mape, None, "no stored run to compare with");
    // Only a manager's own people.
    let mine = attain::jobs::calls::accuracy(
        &db.store,
        &settings,
        &attain::jobs::calls::AccuracyParams {
            person: Some("M001".into()),
            ..Default::default()
        },
        day("2031-01-01"),
    )
    .await
    .unwrap();
    assert_eq!(mine.people.len(), 1);
    assert_eq!(mine.people[0].person_id, "M001");
    db.finish().await;
}

fn accuracy_points(start: NaiveDate, end: NaiveDate) -> usize {
    attain::calls::accuracy::week_days((start, end)).len()
}

/// Ranks with ties sharing their mean rank.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|a, b| values[*a].total_cmp(&values[*b]));
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        for k in i..=j {
            out[order[k]] = (i + j) as f64 / 2.0;
        }
        i = j + 1;
    }
    out
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[tokio::test]
async fn call_accuracy_ranks_the_generated_callers_by_their_planted_habits() {
    let db = helpers::sqlite().await;
    let org = helpers::small_org(40, 24, 11);
    super::forecast::load(&db.store, org.path()).await;
    let settings = RawSettings::default().validate().unwrap();
    let (header, truth) = helpers::read_csv(&org.file("truth.csv"));
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (who, pattern, value) = (col("rep_id"), col("pattern"), col("value"));
    let planted: std::collections::HashMap<&str, (&str, f64)> = truth
        .iter()
        .filter(|t| !t[value].is_empty())
        .map(|t| {
            (
                t[who].as_str(),
                (t[pattern].as_str(), t[value].parse().unwrap()),
            )
        })
        .collect();
    let scored = attain::jobs::calls::accuracy(
        &db.store,
        &settings,
        &attain::jobs::calls::AccuracyParams::default(),
        day("2031-01-01"),
    )
    .await
    .unwrap();
    assert!(scored.periods.len() >= 4, "{:?}", scored.periods);
    let (mut want, mut got) = (Vec::new(), Vec::new());
    let mut by_habit: std::collections::HashMap<&str, Vec<f64>> = Default::default();
    for person in &scored.people {
        let Some((habit, bias)) = planted.get(person.person_id.as_str()) else {
            continue;
        };
        let Some(measured) = person.call_bias else {
            continue;
        };
        if ["sandbagger", "optimist", "accurate caller"].contains(habit) {
            want.push(*bias);
            got.push(measured);
            by_habit.entry(habit).or_default().push(measured);
        }
    }
    assert!(want.len() >= 30, "{} reps scored", want.len());
    let rho = spearman(&want, &got);
    println!(
        "rank correlation of planted and measured call bias: {rho:.3} over {} reps",
        want.len()
    );
    assert!(rho > 0.8, "rank correlation {rho:.3}");
    let mean = |h: &str| by_habit[h].iter().sum::<f64>() / by_habit[h].len() as f64;
    assert!(mean("sandbagger") < -0.05, "{by_habit:?}");
    assert!(mean("optimist") > 0.05, "{by_habit:?}");
    assert!(mean("accurate caller").abs() < mean("optimist").abs());
    // Managers who cut their team's number show a negative adjustment in
    // the roll-up on a Friday they called; those who raise it, a positive
    // one.
    let last = scored.periods.last().unwrap();
    let period = Period::parse(last).unwrap();
    let mut friday = settings.fiscal.end(period);
    while chrono::Datelike::weekday(&friday) != chrono::Weekday::Fri {
        friday -= chrono::Duration::days(1);
    }
    let roll = list(
        &db.store,
        &settings,
        &ListParams {
            person: None,
            period: Some(period),
            as_of: Some(friday),
        },
    )
    .await
    .unwrap();
    let mut checked = 0;
    for line in &roll.calls {
        let (Some((habit, _)), Some(adjustment)) =
            (planted.get(line.person_id.as_str()), line.adjustment)
        else {
            continue;
        };
        match *habit {
            "manager cuts" => assert!(adjustment.cents() < 0, "{line:?}"),
            "manager raises" => assert!(adjustment.cents() > 0, "{line:?}"),
            _ => continue,
        }
        checked += 1;
    }
    assert!(checked >= 2, "{checked} adjusting managers checked");
    db.finish().await;
}

#[tokio::test]
async fn imported_calls_read_back_the_same_on_sqlite_and_postgresql() {
    let org = helpers::small_org(16, 14, 5);
    let settings = RawSettings::default().validate().unwrap();
    let mut seen: Vec<(String, Value)> = Vec::new();
    for db in helpers::backends().await {
        super::forecast::load(&db.store, org.path()).await;
        let periods = db.store.call_periods().await.unwrap();
        assert!(periods.len() >= 4, "{periods:?}");
        let mut answers = Vec::new();
        for text in &periods {
            let period = Period::parse(text).unwrap();
            let end = settings.fiscal.end(period);
            let roll = list(
                &db.store,
                &settings,
                &ListParams {
                    person: None,
                    period: Some(period),
                    as_of: Some(end),
                },
            )
            .await
            .unwrap();
            answers.push(serde_json::to_value(&roll).unwrap());
            let stored = db.store.calls_for(text).await.unwrap();
            answers.push(serde_json::to_value(&stored).unwrap());
        }
        let scored = attain::jobs::calls::accuracy(
            &db.store,
            &settings,
            &attain::jobs::calls::AccuracyParams::default(),
            day("2031-01-01"),
        )
        .await
        .unwrap();
        answers.push(serde_json::to_value(&scored).unwrap());
        seen.push((db.name.to_string(), Value::Array(answers)));
        db.finish().await;
    }
    for pair in seen.windows(2) {
        assert!(
            pair[0].1 == pair[1].1,
            "{} and {} disagree",
            pair[0].0,
            pair[1].0
        );
    }
}
