//! The synthetic organisation: deterministic, consistent, realistic.

use std::collections::HashMap;

use attain::domain::{FiscalCalendar, Period};
use attain::sim::{OrgParams, SimOrg};
use chrono::NaiveDate;

fn org(reps: usize, months: u32, seed: u64) -> SimOrg {
    OrgParams {
        reps,
        months,
        seed,
        ..OrgParams::default()
    }
    .check()
    .unwrap()
    .generate()
}

#[test]
fn the_same_seed_gives_the_same_files_and_another_seed_does_not() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let params = |seed| OrgParams {
        reps: 15,
        months: 12,
        seed,
        ..OrgParams::default()
    };
    attain::sim::generate_to(params(5), a.path()).unwrap();
    attain::sim::generate_to(params(5), b.path()).unwrap();
    attain::sim::generate_to(params(6), c.path()).unwrap();
    let read =
        |d: &tempfile::TempDir| std::fs::read(d.path().join("opportunity_history.csv")).unwrap();
    assert_eq!(read(&a), read(&b));
    assert_ne!(read(&a), read(&c));
}

#[test]
fn deals_histories_are_consistent() {
    let org = org(40, 24, 3);
    assert!(org.deals.len() > 2_000, "{} deals", org.deals.len());
    let mut pushed = 0;
    let mut regressed = 0;
    let mut resized = 0;
    for deal in &org.deals {
        let h = &deal.history;
        assert_eq!(h[0].as_of, deal.created);
        assert!(
            h.windows(2).all(|w| w[0].as_of < w[1].as_of),
            "{}: snapshots out of order",
            deal.id
        );
        assert!(h.iter().all(|s| s.as_of <= org.end));
        // Closed states are final.
        assert!(
            h[..h.len() - 1].iter().all(|s| s.status == "open"),
            "{}",
            deal.id
        );
        if h.windows(2)
            .any(|w| w[1].close_date > w[0].close_date && w[1].status == "open")
        {
            pushed += 1;
        }
        let rank = |s: &str| attain::sim::OPEN_STAGES.iter().position(|x| *x == s);
        if h.windows(2)
            .any(|w| matches!((rank(w[0].stage), rank(w[1].stage)), (Some(a), Some(b)) if b < a))
        {
            regressed += 1;
        }
        if h.windows(2).any(|w| w[0].amount != w[1].amount) {
            resized += 1;
        }
    }
    let n = org.deals.len();
    assert!(pushed * 10 > n, "pushes: {pushed} of {n}");
    assert!(
        regressed > 0 && regressed * 10 < n,
        "regressions: {regressed} of {n}"
    );
    assert!(resized * 10 > n, "amount changes: {resized} of {n}");
    assert!(
        org.deals
            .iter()
            .any(|d| d.history.last().unwrap().status == "open"),
        "deals still open at the end"
    );
}

#[test]
fn most_reps_land_between_60_and_130_percent_of_quota() {
    let org = org(200, 36, 4);
    let cal = FiscalCalendar::default();
    let mut booked: HashMap<(&str, Period), i64> = HashMap::new();
    for b in &org.bookings {
        *booked
            .entry((b.rep_id.as_str(), cal.quarter_of(b.date)))
            .or_default() += b.amount;
    }
    let people: HashMap<&str, _> = org.people.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut attainments = Vec::new();
    for q in &org.quotas {
        let (start, end) = (cal.start(q.period), cal.end(q.period));
        let person = people[q.rep_id.as_str()];
        // Whole quarters in seat, inside the data.
        if end > org.end || person.hire_date > start || person.end_date.is_some_and(|e| e < end) {
            continue;
        }
        let got = *booked.get(&(q.rep_id.as_str(), q.period)).unwrap_or(&0);
        attainments.push(got as f64 / q.amount as f64);
    }
    attainments.sort_by(f64::total_cmp);
    let within = attainments
        .iter()
        .filter(|a| (0.6..=1.3).contains(*a))
        .count() as f64
        / attainments.len() as f64;
    let median = attainments[attainments.len() / 2];
    assert!(
        within > 0.5,
        "only {:.0}% of rep-quarters within 60-130%",
        within * 100.0
    );
    assert!(
        (0.85..1.15).contains(&median),
        "median attainment {median:.2}"
    );
}

#[test]
fn quarter_ends_and_q4_are_busier_and_planted_decliners_decline() {
    let org = org(200, 36, 5);
    let mut by_month = [0i64; 12];
    for b in org.bookings.iter().filter(|b| b.opportunity_id.is_some()) {
        by_month[chrono::Datelike::month0(&b.date) as usize] += b.amount;
    }
    let quarter_end: i64 = [2, 5, 8, 11].iter().map(|&m| by_month[m]).sum();
    let others: i64 = by_month.iter().sum::<i64>() - quarter_end;
    // Even spread would give the 4 quarter-end months half of what the other 8 get.
    assert!(
        quarter_end as f64 > 0.65 * others as f64,
        "quarter-end months {quarter_end} vs others {others}"
    );

    let decliners: Vec<_> = org
        .truth
        .iter()
        .filter(|t| t.pattern == "declining")
        .collect();
    assert!(decliners.len() >= 10, "{} planted", decliners.len());
    let start = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    // In aggregate, decliners book far less new business after the decline
    // than before, per month.
    let (mut before, mut after) = (0f64, 0f64);
    for planted in &decliners {
        let from = FiscalCalendar::default().start(planted.from);
        let months_before = (from - start).num_days() as f64 / 30.4;
        let months_after = ((org.end - from).num_days() as f64 / 30.4).max(1.0);
        let sum = |pred: &dyn Fn(NaiveDate) -> bool| {
            org.bookings
                .iter()
                .filter(|b| {
                    b.rep_id == planted.rep_id && b.opportunity_id.is_some() && pred(b.date)
                })
                .map(|b| b.amount as f64)
                .sum::<f64>()
        };
        before += sum(&|d| d < from) / months_before;
        after += sum(&|d| d >= from) / months_after;
    }
    assert!(
        after < 0.75 * before,
        "decliners: {before:.0}/month before, {after:.0}/month after"
    );
}

#[test]
fn one_region_books_in_euros_with_a_rate_for_every_month() {
    let org = org(60, 24, 7);
    let region_of: HashMap<&str, &str> = org
        .territories
        .iter()
        .map(|t| (t.id.as_str(), t.region.as_str()))
        .collect();
    let euro_regions: std::collections::BTreeSet<&str> = org
        .bookings
        .iter()
        .filter(|b| b.currency == Some("EUR"))
        .map(|b| region_of[b.territory_id.as_str()])
        .collect();
    assert_eq!(euro_regions.into_iter().collect::<Vec<_>>(), ["EMEA North"]);
    // Every booking of that region is in euros, every other in dollars.
    for b in &org.bookings {
        let euro = region_of[b.territory_id.as_str()] == "EMEA North";
        assert_eq!(b.currency.is_some(), euro, "{}", b.id);
    }
    // A won deal's booking is its amount in its own currency.
    let deals: HashMap<&str, &attain::sim::SimDeal> =
        org.deals.iter().map(|d| (d.id.as_str(), d)).collect();
    for b in org.bookings.iter().filter(|b| b.currency.is_some()) {
        if let Some(d) = b.opportunity_id.as_deref().map(|o| deals[o]) {
            assert_eq!(d.currency, b.currency);
            assert_eq!(d.history.last().map(|h| h.amount), Some(b.amount));
        }
    }
    // One rate a month from the first month on, none missing.
    assert_eq!(org.fx_rates.len(), 24);
    assert_eq!(
        org.fx_rates[0].date,
        NaiveDate::from_ymd_opt(2023, 1, 1).unwrap()
    );
    assert!(org.quotas.iter().any(|q| q.currency == Some("EUR")));
    // A one-region organisation has a single currency.
    let small = org_one_region();
    assert!(small.fx_rates.is_empty());
    assert!(small.bookings.iter().all(|b| b.currency.is_none()));
}

fn org_one_region() -> SimOrg {
    org(20, 12, 3)
}

#[test]
fn some_reps_changed_teams_and_their_earlier_bookings_say_so() {
    let org = org(60, 24, 7);
    assert!(org.org_history.len() >= 4, "{}", org.org_history.len());
    for pair in org.org_history.chunks(2) {
        let [before, after] = pair else {
            panic!("two rows per mover")
        };
        assert_eq!(before.rep_id, after.rep_id);
        assert_ne!(before.manager_id, after.manager_id);
        let person = org.people.iter().find(|p| p.id == after.rep_id).unwrap();
        // reps.csv holds where they are now.
        assert_eq!(person.manager_id.as_ref(), Some(&after.manager_id));
        for b in org.bookings.iter().filter(|b| b.rep_id == after.rep_id) {
            let expected = if b.date < after.from {
                &before.territory_id
            } else {
                &after.territory_id
            };
            assert_eq!(&b.territory_id, expected, "{}", b.id);
        }
    }
}
