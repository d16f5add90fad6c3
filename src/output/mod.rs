//! What attain prints: aligned tables for people, JSON and CSV for
//! scripts. The CLI's commands and the API's CSV responses build their rows
//! here, so a table and a CSV download of the same list agree.

use std::fmt::Write as _;

use serde::Serialize;

use crate::coaching::CoachList;
use crate::forecast::backtest::MetricRow;
use crate::forecast::{ForecastRow, TrainedModel};
use crate::ingest::IngestSummary;
use crate::jobs::coach_evaluate::Evaluation;
use crate::scoring::{DealScore, ScorerKind, ScoringEvaluation};
use crate::store::{OpportunitySnapshot, StoreStatus};

mod calls;
mod close;
mod plan;
pub use calls::{call_accuracy_grid, calls_grid, changes_grid};
pub use close::{adjustments_grid, closes_grid, disputes_grid, payroll_grid, versions_grid};
pub use plan::{quota_grid, quotas_csv, quotas_file_grid, scenario_grid, territory_grid};

/// Output format of a reporting command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns, for people.
    #[default]
    Table,
    /// JSON, the same shapes the API returns.
    Json,
    /// CSV with a header row.
    Csv,
}

/// A rectangular result: a header and rows of text cells.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    /// Column names.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

impl Grid {
    /// A grid with these column names.
    pub fn new(header: &[&str]) -> Grid {
        Grid {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Columns padded to their widest cell; numbers right-aligned.
    pub fn to_table(&self) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                    .chain([self.header[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let numeric: Vec<bool> = (0..self.header.len())
            .map(|i| {
                !self.rows.is_empty()
                    && self.rows.iter().all(|r| {
                        r.get(i)
                            .is_some_and(|c| c.is_empty() || c.parse::<f64>().is_ok())
                    })
            })
            .collect();
        let mut out = String::new();
        let line = |cells: &[String], out: &mut String| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                let pad = widths[i].saturating_sub(cell.chars().count());
                if numeric[i] {
                    text.push_str(&" ".repeat(pad));
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.push_str(&" ".repeat(pad));
                }
            }
            let _ = writeln!(out, "{}", text.trim_end());
        };
        line(&self.header, &mut out);
        for row in &self.rows {
            line(row, &mut out);
        }
        out
    }

    /// RFC 4180 CSV, with every cell a spreadsheet would read as a
    /// formula (see [`csv_cell`]) made inert.
    pub fn to_csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let cells: Vec<std::borrow::Cow<'_, str>> = row.iter().map(|c| csv_cell(c)).collect();
            let _ = writer.write_record(cells.iter().map(|c| c.as_bytes()));
        }
        writer
            .into_inner()
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .unwrap_or_default()
    }
}

/// A cell as written to CSV: one that begins with `=`, `+`, `-`, `@`, a
/// tab or a carriage return and is not a plain number gets a leading `'`,
/// so a spreadsheet shows it as text instead of running it as a formula
/// (an id, account or product name can begin with anything); numbers such
/// as `-120.50` and a lone `-` are left as they are.
pub fn csv_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    // A lone sign (the "none" placeholder) runs nothing.
    if risky && cell.len() > 1 && cell.trim().parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Renders a value as JSON, or its grid as a table or CSV.
pub fn render<T: Serialize>(format: OutputFormat, value: &T, grid: &Grid) -> String {
    match format {
        OutputFormat::Json => {
            let mut text = serde_json::to_string_pretty(value)
                .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
            text.push('\n');
            text
        }
        OutputFormat::Table => grid.to_table(),
        OutputFormat::Csv => grid.to_csv(),
    }
}

/// `attain status`.
pub fn status_grid(status: &StoreStatus) -> Grid {
    let mut grid = Grid::new(&["item", "value"]);
    for (table, rows) in &status.tables {
        grid.push(vec![format!("rows in {table}"), rows.to_string()]);
    }
    let date = |d: Option<chrono::NaiveDate>| d.map_or_else(|| "-".to_owned(), |d| d.to_string());
    grid.push(vec!["first date".into(), date(status.first_date)]);
    grid.push(vec!["last date".into(), date(status.last_date)]);
    grid.push(vec!["fingerprint".into(), status.fingerprint.clone()]);
    grid
}

/// `attain ingest`.
pub fn ingest_grid(summary: &IngestSummary) -> Grid {
    let mut grid = Grid::new(&["table", "rows", "inserted", "updated", "unchanged"]);
    for (table, t) in &summary.tables {
        grid.push(vec![
            table.clone(),
            t.rows.to_string(),
            t.inserted.to_string(),
            t.updated.to_string(),
            t.unchanged.to_string(),
        ]);
    }
    grid
}

/// A few lines under the ingest table: snapshots, skipped files, fingerprint.
pub fn ingest_footer(summary: &IngestSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "history snapshots added for changed deals: {}",
        summary.snapshots_added
    );
    for (table, t) in &summary.tables {
        for (what, n) in &t.notes {
            let _ = match n {
                0 => writeln!(out, "{table}: {what}"),
                n => writeln!(out, "{table}: {what}: {n}"),
            };
        }
    }
    for skipped in &summary.skipped {
        let _ = writeln!(
            out,
            "skipped {skipped}: no table is read from a file of that name"
        );
    }
    if let Some(day) = summary.export_date {
        let source = if summary.export_date_given {
            "as given"
        } else {
            "its latest activity"
        };
        let _ = writeln!(out, "export date {day} ({source})");
        let today = chrono::Local::now().date_naive();
        let gap = (today - day).num_days();
        if gap > 31 && !summary.export_date_given {
            let _ = writeln!(
                out,
                "note: the data ends {gap} days before today; commands default to its last day ({day}), \
                 not today (pass --as-of to choose another)"
            );
        }
    }
    match (summary.dry_run, summary.run_id) {
        (true, _) => {
            let _ = writeln!(out, "dry run: everything checked, nothing stored");
        }
        (false, Some(run)) => {
            let _ = writeln!(out, "recorded as ingest run {run}");
        }
        (false, None) => {
            let _ = writeln!(out, "nothing changed: the store already held this data");
        }
    }
    let _ = writeln!(out, "fingerprint {}", summary.fingerprint);
    out
}

/// The pipeline as of a date, as `attain pipeline` prints it.
#[derive(Debug, Serialize)]
pub struct PipelineView<'a> {
    /// The date.
    pub as_of: chrono::NaiveDate,
    /// Deals, in id order.
    pub opportunities: &'a [OpportunitySnapshot],
}

/// `attain pipeline`.
pub fn pipeline_grid(deals: &[OpportunitySnapshot]) -> Grid {
    let mut grid = Grid::new(&[
        "opportunity_id",
        "rep_id",
        "stage",
        "status",
        "amount",
        "close_date",
        "snapshot_date",
    ]);
    for d in deals {
        grid.push(vec![
            d.opportunity_id.to_string(),
            d.rep_id.to_string(),
            d.stage.clone(),
            d.status.to_string(),
            d.amount.map(|a| a.to_string()).unwrap_or_default(),
            d.close_date.map(|c| c.to_string()).unwrap_or_default(),
            d.snapshot_date.to_string(),
        ]);
    }
    grid
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

/// `attain forecast`.
pub fn forecast_grid(rows: &[ForecastRow]) -> Grid {
    let mut grid = Grid::new(&[
        "level",
        "id",
        "period",
        "p10",
        "p50",
        "p90",
        "mean",
        "booked_to_date",
        "crm_commit",
        "model",
        "history_months",
        "range_basis",
    ]);
    for r in rows {
        grid.push(vec![
            r.level.to_string(),
            r.id.clone(),
            r.period.clone(),
            r.p10.to_string(),
            r.p50.to_string(),
            r.p90.to_string(),
            r.mean.to_string(),
            r.booked_to_date.to_string(),
            r.crm_commit.map(|m| m.to_string()).unwrap_or_default(),
            r.model.clone(),
            r.history_months.map(|m| m.to_string()).unwrap_or_default(),
            r.range_basis.clone().unwrap_or_default(),
        ]);
    }
    grid
}

/// Metrics over a range of horizons: each metric averaged with the
/// forecasts scored as weights.
pub fn summarize_metrics(rows: &[MetricRow], label: &str) -> Vec<(String, MetricRow)> {
    use std::collections::BTreeMap;
    let mut groups: BTreeMap<(crate::features::Level, String), Vec<&MetricRow>> = BTreeMap::new();
    for r in rows {
        groups
            .entry((r.level, r.model.clone()))
            .or_default()
            .push(r);
    }
    groups
        .into_iter()
        .map(|((level, model), list)| {
            let avg = |f: &dyn Fn(&MetricRow) -> Option<f64>| -> Option<f64> {
                let (sum, n) = list.iter().fold((0.0, 0usize), |(s, n), r| match f(r) {
                    Some(v) => (s + v * r.n as f64, n + r.n),
                    None => (s, n),
                });
                (n > 0).then(|| sum / n as f64)
            };
            (
                label.to_owned(),
                MetricRow {
                    level,
                    horizon: 0,
                    model,
                    wape: avg(&|r| r.wape),
                    mase: avg(&|r| r.mase),
                    smape: avg(&|r| r.smape),
                    bias: avg(&|r| r.bias),
                    coverage_80: avg(&|r| r.coverage_80),
                    pinball: avg(&|r| r.pinball),
                    n: list.iter().map(|r| r.n).sum(),
                },
            )
        })
        .collect()
}

/// `attain backtest`: one line per level, horizon (or range) and model.
pub fn backtest_grid(rows: &[(String, MetricRow)]) -> Grid {
    let mut grid = Grid::new(&[
        "level",
        "horizon",
        "model",
        "wape",
        "mase",
        "smape",
        "bias",
        "coverage_80",
        "pinball",
        "n",
    ]);
    for (horizon, r) in rows {
        grid.push(vec![
            r.level.to_string(),
            horizon.clone(),
            r.model.clone(),
            opt(r.wape, 3),
            opt(r.mase, 3),
            opt(r.smape, 1),
            opt(r.bias, 3),
            opt(r.coverage_80, 3),
            opt(r.pinball, 3),
            r.n.to_string(),
        ]);
    }
    grid
}

/// `attain train`: the selection per horizon.
pub fn train_grid(model: &TrainedModel) -> Grid {
    let mut grid = Grid::new(&[
        "horizon",
        "model",
        "company_mase",
        "baseline",
        "baseline_mase",
        "coverage_80",
    ]);
    let find = |h: usize, name: &str| {
        model.metrics.iter().find(|r| {
            r.horizon == h && r.model == name && r.level == crate::features::Level::Company
        })
    };
    for (i, m) in model.selection.iter().enumerate() {
        let h = i + 1;
        grid.push(vec![
            h.to_string(),
            m.to_string(),
            opt(find(h, "attain").and_then(|r| r.mase), 3),
            model.comparator.clone(),
            opt(find(h, &model.comparator).and_then(|r| r.mase), 3),
            opt(find(h, "attain").and_then(|r| r.coverage_80), 3),
        ]);
    }
    grid
}

/// What `attain score --evaluate` prints as JSON.
#[derive(Debug, Serialize)]
pub struct ScoringView<'a> {
    /// Registry version.
    pub model_version: &'a str,
    /// Trained as of.
    pub as_of: chrono::NaiveDate,
    /// Learner chosen.
    pub model: ScorerKind,
    /// Validation, holdout and reliability.
    pub report: &'a ScoringEvaluation,
}

/// Holdout metrics of each candidate and the stage-only baseline.
pub fn scoring_grid(report: &ScoringEvaluation) -> Grid {
    let mut grid = Grid::new(&[
        "window", "model", "examples", "won", "auc", "brier", "log_loss", "ece",
    ]);
    for (window, rows) in [
        ("validation", &report.validation),
        ("holdout", &report.holdout),
    ] {
        for m in rows {
            grid.push(vec![
                window.to_owned(),
                m.model.clone(),
                m.n.to_string(),
                format!("{:.3}", m.base_rate),
                format!("{:.3}", m.auc),
                format!("{:.4}", m.brier),
                format!("{:.4}", m.log_loss),
                format!("{:.4}", m.ece),
            ]);
        }
    }
    grid
}

/// The chosen model's reliability table on the holdout.
pub fn reliability_grid(report: &ScoringEvaluation) -> Grid {
    let mut grid = Grid::new(&["p_win_bin", "deals", "mean_predicted", "share_won"]);
    for b in &report.reliability {
        grid.push(vec![
            format!("{:.1}-{:.1}", b.from, b.to),
            b.n.to_string(),
            if b.n > 0 {
                format!("{:.3}", b.predicted)
            } else {
                "-".into()
            },
            if b.n > 0 {
                format!("{:.3}", b.observed)
            } else {
                "-".into()
            },
        ]);
    }
    grid
}

/// `attain score`: one line per deal, drivers joined.
pub fn score_grid(deals: &[DealScore]) -> Grid {
    let mut grid = Grid::new(&[
        "opportunity_id",
        "rep_id",
        "stage",
        "amount",
        "close_date",
        "p_win",
        "drivers",
    ]);
    for d in deals {
        let drivers: Vec<String> = d
            .drivers
            .iter()
            .map(|x| format!("{:+.0}pp {}", 100.0 * x.effect, x.message))
            .collect();
        grid.push(vec![
            d.opportunity_id.clone(),
            d.rep_id.clone(),
            d.stage.clone(),
            d.amount.to_string(),
            d.close_date.map_or_else(|| "-".into(), |c| c.to_string()),
            format!("{:.3}", d.p_win),
            drivers.join("; "),
        ]);
    }
    grid
}

/// `attain coach`: one line per rep, top reasons joined.
pub fn coach_grid(list: &CoachList) -> Grid {
    let mut grid = Grid::new(&[
        "rank",
        "rep_id",
        "manager_id",
        "period",
        "priority",
        "p_miss_quota",
        "expected_shortfall",
        "quota",
        "booked_to_date",
        "forecast_p50",
        "decline_score",
        "decline_per_quarter",
        "decline_urgency",
        "reasons",
    ]);
    for (i, r) in list.reps.iter().enumerate() {
        let reasons: Vec<String> = r
            .reasons
            .iter()
            .map(|x| format!("[{} {}] {}", x.code, x.impact, x.message))
            .collect();
        grid.push(vec![
            (i + 1).to_string(),
            r.rep_id.clone(),
            r.manager_id.clone().unwrap_or_default(),
            list.period.clone(),
            r.priority.to_string(),
            format!("{:.3}", r.p_miss_quota),
            r.expected_shortfall.to_string(),
            r.quota.to_string(),
            r.booked_to_date.to_string(),
            r.forecast_p50.to_string(),
            r.decline
                .map_or_else(String::new, |d| format!("{:.2}", d.score)),
            r.decline
                .map_or_else(String::new, |d| d.per_quarter.to_string()),
            r.decline
                .map_or_else(String::new, |d| format!("{:.3}", d.urgency)),
            reasons.join(" | "),
        ]);
    }
    grid
}

/// A short coaching list: each rep with their largest reason's code.
pub fn coach_summary_grid(list: &CoachList) -> Grid {
    let mut grid = Grid::new(&[
        "rank",
        "rep_id",
        "manager_id",
        "priority",
        "p_miss_quota",
        "expected_shortfall",
        "top_reason",
        "impact",
    ]);
    for (i, r) in list.reps.iter().enumerate() {
        let top = r.reasons.first();
        grid.push(vec![
            (i + 1).to_string(),
            r.rep_id.clone(),
            r.manager_id.clone().unwrap_or_default(),
            r.priority.to_string(),
            format!("{:.3}", r.p_miss_quota),
            r.expected_shortfall.to_string(),
            top.map_or_else(|| "-".into(), |x| x.code.clone()),
            top.map_or_else(|| "-".into(), |x| x.impact.to_string()),
        ]);
    }
    grid
}

/// `attain coach --evaluate`: P(miss quota) per past quarter.
pub fn coach_history_grid(evaluation: &Evaluation) -> Grid {
    let mut grid = Grid::new(&["quarter", "as_of", "reps", "missed", "mean_p_miss", "auc"]);
    for q in &evaluation.history {
        grid.push(vec![
            q.period.clone(),
            q.as_of.to_string(),
            q.reps.to_string(),
            q.missed.to_string(),
            format!("{:.3}", q.mean_p_miss),
            format!("{:.3}", q.auc),
        ]);
    }
    grid
}

/// `attain commissions`: projected payouts.
pub fn payout_grid(projection: &crate::jobs::commissions::Projection) -> Grid {
    let mut grid = Grid::new(&[
        "level",
        "id",
        "plan_id",
        "period",
        "earned_to_date",
        "p10",
        "p50",
        "p90",
        "mean",
    ]);
    for p in &projection.payouts {
        grid.push(vec![
            p.level.as_str().to_owned(),
            p.id.clone(),
            p.plan_id.clone().unwrap_or_default(),
            projection.period.clone(),
            p.earned_to_date.to_string(),
            p.p10.to_string(),
            p.p50.to_string(),
            p.p90.to_string(),
            p.mean.to_string(),
        ]);
    }
    grid
}

/// `attain commissions --what-if-win|--what-if-lose`.
pub fn what_if_grid(w: &crate::jobs::commissions::WhatIfResult) -> Grid {
    let mut grid = Grid::new(&[
        "opportunity_id",
        "outcome",
        "amount",
        "p_win",
        "rep_id",
        "credited_as",
        "share",
        "plan_period",
        "statement_change",
        "mean_before",
        "mean_after",
        "mean_change",
        "p50_after",
    ]);
    for r in &w.reps {
        grid.push(vec![
            w.opportunity_id.clone(),
            w.outcome.to_owned(),
            w.amount.to_string(),
            format!("{:.3}", w.p_win),
            r.rep_id.clone(),
            r.credited_as.clone(),
            format!(
                "{}%",
                (r.share * rust_decimal::Decimal::ONE_HUNDRED).normalize()
            ),
            r.plan_period.clone(),
            r.statement_change.to_string(),
            r.mean_before.to_string(),
            r.mean_after.to_string(),
            r.mean_change.to_string(),
            r.p50_after.to_string(),
        ]);
    }
    grid
}

/// `attain commissions --statement`: every line, with its running total.
pub fn statement_grid(s: &crate::jobs::commissions::RepStatement) -> Grid {
    let mut grid = Grid::new(&[
        "plan_period",
        "plan_id",
        "kind",
        "description",
        "credit",
        "base",
        "rate",
        "amount",
        "running_total",
    ]);
    let money = |v: Option<rust_decimal::Decimal>| v.map(|v| format!("{v:.2}")).unwrap_or_default();
    for l in &s.lines {
        let kind = serde_json::to_value(l.line.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        grid.push(vec![
            l.plan_period.clone(),
            l.plan_id.clone(),
            kind,
            l.line.description.clone(),
            money(l.line.credit),
            money(l.line.base),
            l.line
                .rate
                .map(|r| format!("{}%", (r * rust_decimal::Decimal::ONE_HUNDRED).normalize()))
                .unwrap_or_default(),
            format!("{:.2}", l.line.amount),
            format!("{:.2}", l.line.running_total),
        ]);
    }
    grid.push(vec![
        s.period.clone(),
        s.plan_id.clone(),
        "total".into(),
        format!("statement of {} as of {} ({})", s.rep_id, s.as_of, s.status),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        s.total.to_string(),
    ]);
    grid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_that_would_run_as_formulas_are_made_text() {
        let mut grid = Grid::new(&["id", "amount", "drivers"]);
        grid.push(vec![
            "=HYPERLINK(\"http://x\")".into(),
            "-120.50".into(),
            "-10pp product Platform; +4pp stage".into(),
        ]);
        grid.push(vec!["@SUM(A1)".into(), "+3".into(), "\tcmd".into()]);
        grid.push(vec!["R0042".into(), "1e3".into(), "-".into()]);
        let csv = grid.to_csv();
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(
            rows[1],
            "\"'=HYPERLINK(\"\"http://x\"\")\",-120.50,'-10pp product Platform; +4pp stage"
        );
        assert_eq!(rows[2], "'@SUM(A1),+3,'\tcmd");
        assert_eq!(rows[3], "R0042,1e3,-");
    }

    #[test]
    fn table_aligns_and_csv_quotes() {
        let mut grid = Grid::new(&["name", "rows"]);
        grid.push(vec!["reps".into(), "5".into()]);
        grid.push(vec!["a, b".into(), "120".into()]);
        assert_eq!(grid.to_table(), "name  rows\nreps     5\na, b   120\n");
        assert_eq!(grid.to_csv(), "name,rows\nreps,5\n\"a, b\",120\n");
    }
}
