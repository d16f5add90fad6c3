//! The forecast calls' tables: the roll-up and call accuracy.

use super::{Grid, opt};

/// `attain call list`: one line a person, the team under its manager.
pub fn calls_grid(list: &crate::calls::CallList) -> Grid {
    let mut grid = Grid::new(&[
        "person",
        "level",
        "commit",
        "best_case",
        "reports_commit",
        "adjustment",
        "model_p10",
        "model_p50",
        "model_p90",
        "booked",
        "crm_commit",
        "submitted_at",
    ]);
    let money =
        |m: Option<crate::domain::Money>| m.map_or_else(|| "-".to_owned(), |m| m.to_string());
    for line in &list.calls {
        grid.push(vec![
            line.person_id.clone(),
            serde_json::to_value(line.level)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            if line.called {
                money(line.commit)
            } else {
                "not called".to_owned()
            },
            money(line.best_case),
            money(line.reports_commit),
            money(line.adjustment),
            money(line.model.map(|m| m.p10)),
            money(line.model.map(|m| m.p50)),
            money(line.model.map(|m| m.p90)),
            money(line.booked_to_date),
            money(line.crm_commit),
            line.submitted_at.clone().unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    grid
}

/// `attain call accuracy`: one line a person, best callers first.
pub fn call_accuracy_grid(a: &crate::calls::accuracy::CallAccuracy) -> Grid {
    let mut grid = Grid::new(&[
        "person",
        "periods",
        "points",
        "call_mape",
        "call_bias",
        "model_mape",
        "model_bias",
        "inside_model_band",
        "call_beat_model",
    ]);
    for p in &a.people {
        grid.push(vec![
            p.person_id.clone(),
            p.periods.to_string(),
            p.points.to_string(),
            opt(p.call_mape, 3),
            opt(p.call_bias, 3),
            opt(p.model_mape, 3),
            opt(p.model_bias, 3),
            opt(p.inside_model_band, 2),
            opt(p.call_beat_model, 2),
        ]);
    }
    grid
}

/// `attain changes`: the opening pipeline, each move with its largest
/// deals, the closing pipeline, then the forecast's and the call's change.
pub fn changes_grid(c: &crate::calls::changes::Changes) -> Grid {
    /// Deals named per step in the table (JSON lists them all).
    const NAMED: usize = 5;
    let mut grid = Grid::new(&["step", "deals", "amount", "largest deals"]);
    grid.push(vec![
        format!("open on {}", c.from),
        c.opening_deals.to_string(),
        c.opening.to_string(),
        String::new(),
    ]);
    for s in &c.steps {
        let mut named = s
            .deals
            .iter()
            .take(NAMED)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        if s.deals.len() > NAMED {
            named.push_str(&format!(" (+{} more)", s.deals.len() - NAMED));
        }
        grid.push(vec![
            s.kind.label().to_owned(),
            s.deal_count.to_string(),
            s.amount.to_string(),
            named,
        ]);
    }
    grid.push(vec![
        format!("open on {}", c.to),
        c.closing_deals.to_string(),
        c.closing.to_string(),
        String::new(),
    ]);
    let money =
        |m: Option<crate::domain::Money>| m.map_or_else(|| "-".to_owned(), |m| m.to_string());
    let f = &c.forecast;
    grid.push(vec![
        "forecast P50 change".to_owned(),
        String::new(),
        money(f.p50_change),
        format!(
            "{} -> {}",
            money(f.from.map(|p| p.range.p50)),
            money(f.to.map(|p| p.range.p50))
        ),
    ]);
    let call = &c.calls;
    grid.push(vec![
        format!(
            "call change{}",
            call.person_id
                .as_ref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        ),
        String::new(),
        money(call.commit_change),
        format!(
            "{} -> {}",
            money(call.from.as_ref().map(|p| p.commit)),
            money(call.to.as_ref().map(|p| p.commit))
        ),
    ]);
    grid
}
