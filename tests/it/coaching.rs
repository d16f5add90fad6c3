//! Win probabilities and the coaching-priority list, end to end on a
//! generated organisation.

use std::collections::HashSet;

use attain::coaching::run::{CoachParams, coach};
use attain::domain::FiscalCalendar;
use attain::features::SalesData;
use attain::scoring::run::{ScoreParams, score};
use attain::scoring::{ScoringParams, train};

use super::forecast::{bookings_only, load, quick, settings, truncate};
use super::helpers::{self, date};

#[tokio::test(flavor = "multi_thread")]
async fn win_probabilities_are_calibrated_and_beat_the_stage_baseline() {
    let org = helpers::small_org(40, 30, 21);
    let t = helpers::sqlite().await;
    load(&t.store, org.path()).await;
    let data = SalesData::load(&t.store, FiscalCalendar::default())
        .await
        .unwrap();
    let model = tokio::task::block_in_place(|| {
        train(&data, data.last_date, ScoringParams::default()).expect("train")
    });
    let holdout = &model.report.holdout;
    let find = |name: &str| holdout.iter().find(|m| m.model == name).expect(name);
    let chosen = find(model.kind.as_str());
    let stage = find("stage_only");
    assert!(chosen.n > 300, "holdout of {} examples", chosen.n);
    assert!(
        chosen.auc > stage.auc + 0.02,
        "{} AUC {:.3} vs stage-only {:.3}",
        model.kind.as_str(),
        chosen.auc,
        stage.auc
    );
    assert!(chosen.ece < 0.08, "ECE {:.3}", chosen.ece);
    assert!(chosen.brier < stage.brier);
    // The reliability table accounts for every holdout example.
    let binned: usize = model.report.reliability.iter().map(|b| b.n).sum();
    assert_eq!(binned, chosen.n);
}

#[tokio::test(flavor = "multi_thread")]
async fn scores_see_nothing_after_their_day_and_explain_themselves() {
    let org = helpers::small_org(24, 28, 8);
    let cut = "2024-09-30";
    let known = tempfile::tempdir().unwrap();
    truncate(org.path(), known.path(), cut);
    let full = helpers::sqlite().await;
    load(&full.store, org.path()).await;
    let past = helpers::sqlite().await;
    load(&past.store, known.path()).await;

    let params = ScoreParams {
        as_of: Some(date(cut)),
        rep: None,
        drivers: 3,
    };
    let (a_models, b_models) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = score(&full.store, &settings(a_models.path()), &params, quick())
        .await
        .expect("score on all data");
    let b = score(&past.store, &settings(b_models.path()), &params, quick())
        .await
        .expect("score on the data known then");
    assert!(!a.opportunities.is_empty());
    assert_eq!(a.opportunities.len(), b.opportunities.len());
    for (x, y) in a.opportunities.iter().zip(&b.opportunities) {
        assert_eq!(x.opportunity_id, y.opportunity_id);
        assert!(
            (x.p_win - y.p_win).abs() < 1e-6,
            "{}: {} vs {}",
            x.opportunity_id,
            x.p_win,
            y.p_win
        );
        assert_eq!(x.drivers, y.drivers);
    }
    // Every score is a probability with worded drivers, largest first.
    for d in &a.opportunities {
        assert!((0.0..=1.0).contains(&d.p_win));
        assert!(d.drivers.len() <= 3);
        assert!(
            d.drivers
                .windows(2)
                .all(|w| w[0].effect.abs() >= w[1].effect.abs())
        );
        assert!(d.drivers.iter().all(|x| !x.message.is_empty()));
    }
    // A rep filter keeps that rep's deals only.
    let rep = a.opportunities[0].rep_id.clone();
    let only = score(
        &full.store,
        &settings(a_models.path()),
        &ScoreParams {
            rep: Some(rep.clone()),
            ..params.clone()
        },
        quick(),
    )
    .await
    .unwrap();
    assert!(only.opportunities.iter().all(|d| d.rep_id == rep));
    assert_eq!(
        only.opportunities.len(),
        a.opportunities.iter().filter(|d| d.rep_id == rep).count()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_managers_list_holds_only_their_reps_ranked_by_priority() {
    let org = helpers::small_org(36, 26, 4);
    let t = helpers::sqlite().await;
    load(&t.store, org.path()).await;
    let models = tempfile::tempdir().unwrap();
    let settings = settings(models.path());
    let all = coach(&t.store, &settings, &CoachParams::default(), quick())
        .await
        .expect("coach everyone");
    assert!(!all.reps.is_empty());
    assert!(all.reps.windows(2).all(|w| w[0].priority >= w[1].priority));
    for r in &all.reps {
        assert!((0.0..=1.0).contains(&r.p_miss_quota));
        // priority = P(miss) x expected shortfall, to rounding.
        let shortfall = r.expected_shortfall.cents() as f64;
        let expected = r.p_miss_quota * shortfall;
        assert!(
            (r.priority.cents() as f64 - expected).abs() <= 0.001 * shortfall + 1.0,
            "{}: priority {} vs {} x {}",
            r.rep_id,
            r.priority,
            r.p_miss_quota,
            r.expected_shortfall
        );
        assert!(r.reasons.windows(2).all(|w| w[0].impact >= w[1].impact));
        assert!(r.reasons.iter().all(|x| x.impact.cents() >= 0));
    }

    // The managers of the organisation: a list per manager holds exactly
    // the reps whose chain of managers reaches them.
    let reps = t.store.reps().await.unwrap();
    let manager_of: std::collections::HashMap<String, Option<String>> = reps
        .iter()
        .map(|r| {
            (
                r.rep_id.to_string(),
                r.manager_id.as_ref().map(|m| m.to_string()),
            )
        })
        .collect();
    let under = |rep: &str, manager: &str| {
        let mut at = manager_of.get(rep).cloned().flatten();
        while let Some(m) = at {
            if m == manager {
                return true;
            }
            at = manager_of.get(&m).cloned().flatten();
        }
        false
    };
    let managers: HashSet<String> = manager_of.values().flatten().cloned().collect();
    let mut checked = 0;
    for m in &managers {
        let list = coach(
            &t.store,
            &settings,
            &CoachParams {
                manager: Some(m.clone()),
                ..CoachParams::default()
            },
            quick(),
        )
        .await
        .expect("coach a manager");
        assert_eq!(list.manager_id.as_deref(), Some(m.as_str()));
        for r in &list.reps {
            assert!(under(&r.rep_id, m), "{} is not under {m}", r.rep_id);
        }
        let expected = all.reps.iter().filter(|r| under(&r.rep_id, m)).count();
        assert_eq!(list.reps.len(), expected, "manager {m}");
        checked += 1;
    }
    assert!(checked >= 3);

    let unknown = coach(
        &t.store,
        &settings,
        &CoachParams {
            manager: Some("NOBODY".into()),
            ..CoachParams::default()
        },
        quick(),
    )
    .await
    .unwrap_err();
    assert!(unknown.to_string().contains("NOBODY"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bookings_alone_still_give_a_coaching_list_but_no_scores() {
    let org = helpers::small_org(20, 26, 12);
    let only = bookings_only(&org);
    std::fs::copy(org.file("quotas.csv"), only.path().join("quotas.csv")).unwrap();
    let t = helpers::sqlite().await;
    load(&t.store, only.path()).await;
    let models = tempfile::tempdir().unwrap();
    let settings = settings(models.path());
    let list = coach(&t.store, &settings, &CoachParams::default(), quick())
        .await
        .expect("coach from bookings alone");
    assert!(!list.reps.is_empty());
    // No deals: nothing is said about pipeline coverage or deals.
    for r in &list.reps {
        assert!(r.reasons.iter().all(|x| x.evidence.is_empty()));
        assert!(r.reasons.iter().all(|x| x.code != "coverage_gap"));
    }
    let params = ScoreParams {
        as_of: None,
        rep: None,
        drivers: 3,
    };
    let err = score(&t.store, &settings, &params, quick())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no opportunities"), "{err}");
}
