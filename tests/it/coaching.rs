//! Win probabilities and the coaching-priority list, end to end on a
//! generated organisation.

use std::collections::HashSet;

use attain::domain::FiscalCalendar;
use attain::features::SalesData;
use attain::jobs::coach::{CoachParams, coach};
use attain::jobs::score::{ScoreParams, score};
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
    assert!(chosen.brier < find("base_rate").brier);
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
        // Nothing tells renewals from new business without links.
        assert!(r.reasons.iter().all(|x| x.code != "renewals_down"));
    }
    // The decline figure then reads all bookings as one stream: a rep with
    // two years in seat still gets one.
    assert!(
        list.reps.iter().any(|r| r.decline.is_some()),
        "{:?}",
        list.reps.iter().map(|r| &r.rep_id).collect::<Vec<_>>()
    );
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

#[tokio::test(flavor = "multi_thread")]
async fn a_rep_whose_renewals_fell_hears_it_in_money() {
    let org = helpers::small_org(24, 36, 9);
    // The generated data ends 2025-12-31; the recent window is the 180 days
    // up to it, the base the two years before (all of it inside the data).
    let (recent_from, base_from) = ("2025-07-05", "2023-07-06");
    let (rep_header, reps) = helpers::read_csv(&org.file("reps.csv"));
    let col = |header: &[String], name: &str| header.iter().position(|h| h == name).unwrap();
    let (_, truth) = helpers::read_csv(&org.file("truth.csv"));
    let planted: HashSet<&str> = truth
        .iter()
        .filter(|t| t[1] == "declining")
        .map(|t| t[0].as_str())
        .collect();
    let seated: Vec<String> = reps
        .iter()
        .filter(|r| {
            r[col(&rep_header, "role")] == "rep"
                && r[col(&rep_header, "end_date")].is_empty()
                && r[col(&rep_header, "hire_date")].as_str() < "2022-10-01"
                && !planted.contains(r[0].as_str())
        })
        .map(|r| r[0].clone())
        .collect();
    let (header, mut rows) = helpers::read_csv(&org.file("bookings.csv"));
    let (rep, opp, day, amount) = (
        col(&header, "rep_id"),
        col(&header, "opportunity_id"),
        col(&header, "booked_date"),
        col(&header, "amount"),
    );
    // Renewal cents per rep: (recent, base).
    let sums = |rows: &[Vec<String>]| {
        let mut out: std::collections::HashMap<String, (i64, i64)> = Default::default();
        for r in rows.iter().filter(|r| r[opp].is_empty()) {
            let cents = (r[amount].parse::<f64>().unwrap() * 100.0).round() as i64;
            let slot = out.entry(r[rep].clone()).or_default();
            if r[day].as_str() >= recent_from && r[day].as_str() <= "2025-12-31" {
                slot.0 += cents;
            } else if r[day].as_str() >= base_from && r[day].as_str() < recent_from {
                slot.1 += cents;
            }
        }
        out
    };
    let rate = |(recent, base): (i64, i64)| {
        (
            recent as f64 / 100.0 / (180.0 / (365.25 / 12.0)),
            base as f64 / 100.0 / (730.0 / (365.25 / 12.0)),
        )
    };
    // A steady rep: renewals within 10% of their earlier rate.
    let before = sums(&rows);
    let steady = seated
        .iter()
        .find(|id| {
            let (recent, base) = rate(before[*id]);
            (recent / base - 1.0).abs() < 0.1
        })
        .expect("a steady rep")
        .clone();
    let falling = seated.iter().find(|id| **id != steady).unwrap().clone();
    // Halve the other rep's renewals of the recent window.
    for r in rows.iter_mut() {
        if r[rep] == falling && r[opp].is_empty() && r[day].as_str() >= recent_from {
            let halved = r[amount].parse::<f64>().unwrap() / 2.0;
            r[amount] = format!("{halved:.2}");
        }
    }
    helpers::write_csv(&org.file("bookings.csv"), &header, &rows);
    let (recent, base) = rate(sums(&rows)[&falling]);
    assert!(recent < 0.7 * base, "{recent} vs {base}");

    let t = helpers::sqlite().await;
    load(&t.store, org.path()).await;
    let models = tempfile::tempdir().unwrap();
    let settings = settings(models.path());
    let params = CoachParams {
        as_of: Some(date("2025-12-31")),
        ..CoachParams::default()
    };
    let list = coach(&t.store, &settings, &params, quick())
        .await
        .expect("coach");
    assert_eq!(list.period, "2026-Q1");
    let find = |id: &str| list.reps.iter().find(|r| r.rep_id == id).unwrap();
    let reason = find(&falling)
        .reasons
        .iter()
        .find(|x| x.code == "renewals_down")
        .unwrap_or_else(|| panic!("{falling}: {:?}", find(&falling).reasons));
    // The monthly drop over the 90 days of the quarter ahead.
    let expected = (base - recent) * 90.0 / (365.25 / 12.0);
    assert!(
        (reason.impact.cents() as f64 - expected * 100.0).abs() <= 1.0,
        "{} vs {expected}",
        reason.impact
    );
    assert!(
        reason.message.contains("over the 24 months before"),
        "{}",
        reason.message
    );
    assert!(
        reason.message.contains("to 2026-03-31"),
        "{}",
        reason.message
    );
    assert!(
        find(&steady)
            .reasons
            .iter()
            .all(|x| x.code != "renewals_down"),
        "{steady}: {:?}",
        find(&steady).reasons
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_evaluation_scores_the_list_it_gives() {
    use attain::jobs::coach_evaluate::{against_truth, read_truth};
    let org = helpers::small_org(40, 36, 4);
    let t = helpers::sqlite().await;
    load(&t.store, org.path()).await;
    let models = tempfile::tempdir().unwrap();
    let settings = settings(models.path());
    let params = CoachParams::default();
    let list = coach(&t.store, &settings, &params, quick())
        .await
        .expect("coach");
    let planted = read_truth(&org.file("truth.csv")).expect("truth");
    assert_eq!(planted.len(), 2, "{planted:?}");
    let (data, fingerprint) = attain::jobs::load(&t.store, &settings).await.unwrap();
    let registry = attain::jobs::registry::Registry::new(models.path());
    let eval = tokio::task::block_in_place(|| {
        against_truth(&data, &fingerprint, &registry, &params, quick(), &planted)
    })
    .expect("evaluate");

    // The same list, scored where it put the planted reps.
    assert_eq!(eval.listed, list.reps.len());
    let ranks: Vec<(String, usize)> = list
        .reps
        .iter()
        .enumerate()
        .filter(|(_, r)| planted.contains(&r.rep_id))
        .map(|(i, r)| (r.rep_id.clone(), i + 1))
        .collect();
    assert_eq!(eval.ranks, ranks);
    assert_eq!((eval.k, eval.planted), (ranks.len(), ranks.len()));
    let within = |n: usize| ranks.iter().filter(|(_, at)| *at <= n).count() as f64;
    let k = ranks.len() as f64;
    assert_eq!(eval.precision_at_k, within(ranks.len()) / k);
    assert_eq!(
        eval.recall_top_10pct,
        within(list.reps.len().div_ceil(10)) / k
    );
    // Each ranking of the same list, scored the same way.
    use attain::coaching::{RankBy, sort_reps};
    use attain::jobs::coach_evaluate::RankingScore;
    assert_eq!(eval.ranked_by, RankBy::Priority);
    let scored = |by: RankBy| {
        let mut reps = list.reps.clone();
        sort_reps(&mut reps, by);
        let at: Vec<usize> = reps
            .iter()
            .enumerate()
            .filter(|(_, r)| planted.contains(&r.rep_id))
            .map(|(i, _)| i + 1)
            .collect();
        let within = |n: usize| at.iter().filter(|a| **a <= n).count() as f64;
        RankingScore {
            ranked_by: by,
            precision_at_k: within(at.len()) / k,
            recall_top_10pct: within(reps.len().div_ceil(10)) / k,
        }
    };
    assert_eq!(
        eval.rankings,
        vec![scored(RankBy::Priority), scored(RankBy::Decline)]
    );
    assert_eq!(eval.rankings[0].precision_at_k, eval.precision_at_k);
    // Each code given, with the share of each group carrying it.
    let mut codes: Vec<&str> = list
        .reps
        .iter()
        .flat_map(|r| r.reasons.iter().map(|x| x.code.as_str()))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let shown: Vec<&str> = eval.reasons.iter().map(|x| x.code.as_str()).collect();
    assert_eq!(shown, codes);
    let others = (list.reps.len() - ranks.len()) as f64;
    for share in &eval.reasons {
        let carrying = |planted_side: bool| {
            list.reps
                .iter()
                .filter(|r| planted.contains(&r.rep_id) == planted_side)
                .filter(|r| r.reasons.iter().any(|x| x.code == share.code))
                .count() as f64
        };
        assert_eq!(share.planted, carrying(true) / k, "{}", share.code);
        assert_eq!(share.others, carrying(false) / others, "{}", share.code);
    }

    // A truth file without the pattern column is refused by name.
    let bad = org.file("bad_truth.csv");
    std::fs::write(&bad, "rep_id,kind\nR00001,declining\n").unwrap();
    let err = read_truth(&bad).unwrap_err().to_string();
    assert!(
        err.contains("bad_truth.csv") && err.contains("pattern"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rep_whose_business_fell_leads_the_decline_ranking() {
    use attain::coaching::{RankBy, sort_reps};
    let org = helpers::small_org(24, 36, 9);
    let last = date("2025-12-31");
    let (rep_header, reps) = helpers::read_csv(&org.file("reps.csv"));
    let col = |header: &[String], name: &str| header.iter().position(|h| h == name).unwrap();
    let (_, truth) = helpers::read_csv(&org.file("truth.csv"));
    let planted: HashSet<&str> = truth
        .iter()
        .filter(|t| t[1] == "declining")
        .map(|t| t[0].as_str())
        .collect();
    let falling = reps
        .iter()
        .find(|r| {
            r[col(&rep_header, "role")] == "rep"
                && r[col(&rep_header, "end_date")].is_empty()
                && r[col(&rep_header, "hire_date")].as_str() < "2022-10-01"
                && !planted.contains(r[0].as_str())
        })
        .map(|r| r[0].clone())
        .expect("a long-seated rep");
    // Over the last 270 days the rep renews half as much and keeps one win
    // in three.
    let cut_from = (last - chrono::Duration::days(269)).to_string();
    let (header, rows) = helpers::read_csv(&org.file("bookings.csv"));
    let (rep, opp, day, amount) = (
        col(&header, "rep_id"),
        col(&header, "opportunity_id"),
        col(&header, "booked_date"),
        col(&header, "amount"),
    );
    let mut wins_seen = 0;
    let mut kept = Vec::new();
    for mut r in rows {
        if r[rep] == falling && r[day] >= cut_from {
            if r[opp].is_empty() {
                let halved = r[amount].parse::<f64>().unwrap() / 2.0;
                r[amount] = format!("{halved:.2}");
            } else {
                wins_seen += 1;
                if wins_seen % 3 != 0 {
                    continue;
                }
            }
        }
        kept.push(r);
    }
    helpers::write_csv(&org.file("bookings.csv"), &header, &kept);

    let t = helpers::sqlite().await;
    load(&t.store, org.path()).await;
    let models = tempfile::tempdir().unwrap();
    let settings = settings(models.path());
    let params = CoachParams {
        as_of: Some(last),
        rank_by: RankBy::Decline,
        ..CoachParams::default()
    };
    let list = coach(&t.store, &settings, &params, quick())
        .await
        .expect("coach");
    assert_eq!(list.ranked_by, RankBy::Decline);
    // Most urgent first (the evidence of a fall plus P(miss quota));
    // reps without the history follow.
    let urgency: Vec<Option<f64>> = list
        .reps
        .iter()
        .map(|r| r.decline.map(|d| d.urgency))
        .collect();
    let with = urgency.iter().take_while(|s| s.is_some()).count();
    assert!(with > list.reps.len() / 2, "{urgency:?}");
    assert!(urgency[with..].iter().all(Option::is_none), "{urgency:?}");
    assert!(
        urgency[..with].windows(2).all(|w| w[0] >= w[1]),
        "{urgency:?}"
    );
    for r in &list.reps[..with] {
        let d = r.decline.unwrap();
        assert!(
            (d.urgency - (d.score + r.p_miss_quota)).abs() < 1e-9,
            "{}: {d:?}, P(miss) {}",
            r.rep_id,
            r.p_miss_quota
        );
    }
    // The order is not the evidence alone: some rep further down has more
    // of it than one above, having less of their quarter at risk (with the
    // sample's spread of P(miss) this happens on any real list).
    let scores: Vec<f64> = list.reps[..with]
        .iter()
        .map(|r| r.decline.unwrap().score)
        .collect();
    assert!(
        scores.windows(2).any(|w| w[0] < w[1]),
        "ranked as by score alone: {scores:?}"
    );
    // Ahead of every other unplanted rep, by a clear margin.
    let first_unplanted = list
        .reps
        .iter()
        .find(|r| !planted.contains(r.rep_id.as_str()))
        .unwrap();
    assert_eq!(first_unplanted.rep_id, falling);
    let decline = first_unplanted.decline.unwrap();
    assert!(decline.score >= 3.0, "{decline:?}");
    assert!(decline.share > 0.3 && decline.share < 0.9, "{decline:?}");

    // Its money figure, recomputed from the file over the window it names:
    // the base runs up to two years before the window, from the data's
    // first month (the rep was seated long before).
    let recent_from = last - chrono::Duration::days(decline.window_days - 1);
    let base_from = (recent_from - chrono::Duration::days(730)).max(date("2023-01-01"));
    let month = 365.25 / 12.0;
    let base_months = (recent_from - base_from).num_days() as f64 / month;
    let recent_months = decline.window_days as f64 / month;
    // (renewals, wins, won) per window.
    let (mut past, mut now) = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0));
    for r in kept.iter().filter(|r| r[rep] == falling) {
        let d = date(&r[day]);
        let slot = if d >= recent_from && d <= last {
            &mut now
        } else if d >= base_from && d < recent_from {
            &mut past
        } else {
            continue;
        };
        let value: f64 = r[amount].parse().unwrap();
        if r[opp].is_empty() {
            slot.0 += value;
        } else {
            slot.1 += 1.0;
            slot.2 += value;
        }
    }
    let average = past.2 / past.1;
    let drop = (past.0 / base_months - now.0 / recent_months)
        + (past.1 / base_months - now.1 / recent_months) * average;
    let rate = past.0 / base_months + past.1 / base_months * average;
    assert!(
        (decline.per_quarter.cents() as f64 - 300.0 * drop).abs() <= 1.0,
        "{} vs {}",
        decline.per_quarter,
        3.0 * drop
    );
    assert!((decline.share - drop / rate).abs() < 0.001, "{decline:?}");

    // The priority ranking is the same list in its own order.
    let by_priority = coach(
        &t.store,
        &settings,
        &CoachParams {
            rank_by: RankBy::Priority,
            ..params
        },
        quick(),
    )
    .await
    .expect("coach");
    let mut resorted = list.reps.clone();
    sort_reps(&mut resorted, RankBy::Priority);
    let ids = |reps: &[attain::coaching::RepRisk]| -> Vec<String> {
        reps.iter().map(|r| r.rep_id.clone()).collect()
    };
    assert_eq!(ids(&resorted), ids(&by_priority.reps));
    // By priority, except that reps with no deal at all come last.
    assert!(by_priority.reps.windows(2).all(|w| {
        (w[0].never_had_a_deal, w[1].priority) <= (w[1].never_had_a_deal, w[0].priority)
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_history_serves_stage_rates_no_worse_than_the_base_rate() {
    use attain::features::deals::{open_states, outcomes};
    use attain::features::{month_end, month_idx};
    use attain::scoring::{Scorer, ScorerKind};
    // Eight months: too short for a learned model and its holdout.
    let org = helpers::small_org(30, 8, 17);
    let t = helpers::sqlite().await;
    load(&t.store, org.path()).await;
    let data = SalesData::load(&t.store, FiscalCalendar::default())
        .await
        .unwrap();
    // Trained at the end of the fifth month; what closed later judges it.
    let cut = month_end(data.first_month + 4);
    assert!(cut < data.last_date);
    let model = tokio::task::block_in_place(|| {
        train(&data, cut, ScoringParams::default()).expect("stage rates from a short history")
    });
    assert_eq!(model.kind, ScorerKind::StageRate);
    assert!(
        model
            .report
            .notes
            .iter()
            .any(|n| n.contains("too few to learn from")),
        "{:?}",
        model.report.notes
    );
    let outs = outcomes(&data);
    // The base rate as known at the cut: the share won of deals closed by then.
    let closed: Vec<bool> = outs
        .iter()
        .flatten()
        .filter(|o| o.day <= cut)
        .map(|o| o.won)
        .collect();
    let base = closed.iter().filter(|w| **w).count() as f64 / closed.len() as f64;
    let scorer = Scorer::new(&model, &data);
    let states = open_states(&data, cut);
    let (p, _) = scorer.probabilities(&states, cut);
    let mut brier = (0.0, 0.0);
    let mut n = 0;
    for (state, p) in states.iter().zip(&p) {
        let Some(out) = outs[state.opp as usize].filter(|o| o.day > cut) else {
            continue;
        };
        assert!((0.0..=1.0).contains(p));
        let y = f64::from(u8::from(out.won));
        brier.0 += (p - y).powi(2);
        brier.1 += (base - y).powi(2);
        n += 1;
    }
    assert!(n >= 20, "{n} deals open at the cut closed later");
    let (model_brier, base_brier) = (brier.0 / n as f64, brier.1 / n as f64);
    assert!(
        model_brier <= base_brier,
        "stage rates {model_brier:.4} vs base rate {base_brier:.4} over {n} deals"
    );
    assert!(month_idx(cut) < data.first_month + 13);
    t.finish().await;
}
