//! Planning's tables: a quota proposal (and the quotas.csv it writes), a
//! comp-plan scenario, the territory balance.

use super::Grid;
use crate::planning::QuotaProposal;
use crate::planning::scenario::CompScenario;
use crate::planning::territories::TerritoryReport;

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// The proposal per rep, then its summary lines.
pub fn quota_grid(p: &QuotaProposal) -> Grid {
    let mut grid = Grid::new(&[
        "rep_id",
        "name",
        "quota",
        "pinned",
        "months_at_start",
        "run_rate",
        "forecast_mean",
        "p_attain",
    ]);
    for r in &p.reps {
        grid.push(vec![
            r.rep_id.clone(),
            r.name.clone(),
            r.quota.to_string(),
            if r.pinned { "yes" } else { "" }.to_owned(),
            r.months_at_start.to_string(),
            r.run_rate.to_string(),
            r.forecast_mean.to_string(),
            pct(r.p_attain),
        ]);
    }
    let line = |name: &str, value: String| {
        let mut row = vec![String::new(); 8];
        row[1] = name.to_owned();
        row[7] = value;
        row
    };
    grid.push(line(
        &format!("target {} ({})", p.target, p.method.as_str()),
        format!("P(hit) {}", pct(p.p_hit_target)),
    ));
    for (name, f) in [
        ("this proposal", &p.fairness),
        ("equal quotas", &p.equal_quotas),
    ] {
        grid.push(line(
            &format!("{name}: {:.1} reps expected at quota", f.expected_at_quota),
            format!("sd {:.3}, P10-P90 {}-{}", f.sd, pct(f.p10), pct(f.p90)),
        ));
    }
    grid
}

/// The rows of the quotas.csv `attain ingest` applies.
pub fn quotas_file_grid(p: &QuotaProposal) -> Grid {
    let mut grid = Grid::new(&["rep_id", "period", "amount"]);
    for r in &p.reps {
        grid.push(vec![
            r.rep_id.clone(),
            p.period.clone(),
            r.quota.to_string(),
        ]);
    }
    grid
}

/// The quotas.csv `attain ingest` applies.
pub fn quotas_csv(p: &QuotaProposal) -> String {
    quotas_file_grid(p).to_csv()
}

/// The two books side by side, then the people whose pay moves most.
pub fn scenario_grid(s: &CompScenario, people: usize) -> Grid {
    let mut grid = Grid::new(&["item", "current", "candidate"]);
    let (a, b) = (&s.current, &s.candidate);
    for (name, x, y) in [
        ("expected cost", a.mean.to_string(), b.mean.to_string()),
        ("P10", a.p10.to_string(), b.p10.to_string()),
        ("P50", a.p50.to_string(), b.p50.to_string()),
        ("P90", a.p90.to_string(), b.p90.to_string()),
        ("cost of sales", pct(a.cost_of_sales), pct(b.cost_of_sales)),
        (
            "people paid",
            a.reps_paid.to_string(),
            b.reps_paid.to_string(),
        ),
        (
            "at or above quota",
            pct(a.at_or_above_quota),
            pct(b.at_or_above_quota),
        ),
    ] {
        grid.push(vec![name.to_owned(), x, y]);
    }
    for (side, label) in [(a, 1), (b, 2)] {
        for t in &side.tiers {
            let mut row = vec![
                format!(
                    "{} tier {} ({}%{})",
                    t.plan_id,
                    t.tier,
                    t.from * rust_decimal::Decimal::ONE_HUNDRED,
                    t.to.map(|to| format!("-{}%", to * rust_decimal::Decimal::ONE_HUNDRED))
                        .unwrap_or_else(|| "+".into())
                ),
                String::new(),
                String::new(),
            ];
            row[label] = format!("{} ({})", t.reps, pct(t.share));
            grid.push(row);
        }
    }
    for r in s.reps.iter().take(people) {
        grid.push(vec![
            format!("{} {} ({})", r.rep_id, r.name, r.change),
            r.current_mean.to_string(),
            r.candidate_mean.to_string(),
        ]);
    }
    grid
}

/// One line per territory.
pub fn territory_grid(t: &TerritoryReport) -> Grid {
    let mut grid = Grid::new(&[
        "territory_id",
        "region",
        "reps",
        "bookings",
        "bookings_per_rep",
        "pipeline",
        "quota",
        "forecast_p50",
        "coverage",
        "served",
    ]);
    for x in &t.territories {
        grid.push(vec![
            x.territory_id.clone(),
            x.region.clone().unwrap_or_default(),
            x.reps.to_string(),
            x.bookings.to_string(),
            x.bookings_per_rep
                .map(|m| m.to_string())
                .unwrap_or_default(),
            x.pipeline.to_string(),
            x.quota.to_string(),
            x.forecast_p50.to_string(),
            x.coverage.map(|c| format!("{c:.2}")).unwrap_or_default(),
            x.served.clone(),
        ]);
    }
    grid
}
