//! The commission close's tables: closes, adjustments, disputes, the
//! payroll file and plan versions.

use super::Grid;
use crate::jobs::close::{PayrollRow, VersionView};
use crate::store::{Adjustment, CloseRecord, Dispute};

/// Closed periods.
pub fn closes_grid(closes: &[CloseRecord]) -> Grid {
    let mut grid = Grid::new(&[
        "period",
        "as_of",
        "statements",
        "total",
        "closed_at",
        "closed_by",
        "published_at",
        "published_by",
        "fingerprint",
    ]);
    for c in closes {
        grid.push(vec![
            c.period.clone(),
            c.as_of.to_string(),
            c.statements.to_string(),
            c.total.to_string(),
            c.closed_at.clone(),
            c.closed_by.clone(),
            c.published_at.clone().unwrap_or_default(),
            c.published_by.clone().unwrap_or_default(),
            c.fingerprint.chars().take(12).collect(),
        ]);
    }
    grid
}

/// Adjustments.
pub fn adjustments_grid(found: &[Adjustment]) -> Grid {
    let mut grid = Grid::new(&[
        "adjustment_id",
        "rep_id",
        "period",
        "day",
        "amount",
        "reason",
        "author",
        "dispute_id",
    ]);
    for a in found {
        grid.push(vec![
            a.adjustment_id.to_string(),
            a.rep_id.clone(),
            a.period.clone(),
            a.day.to_string(),
            a.amount.to_string(),
            a.reason.clone(),
            a.author.clone(),
            a.dispute_id.map(|d| d.to_string()).unwrap_or_default(),
        ]);
    }
    grid
}

/// Disputes.
pub fn disputes_grid(found: &[Dispute]) -> Grid {
    let mut grid = Grid::new(&[
        "dispute_id",
        "rep_id",
        "period",
        "state",
        "reason",
        "opened_by",
        "resolution",
        "resolved_by",
        "adjustment_id",
    ]);
    for d in found {
        grid.push(vec![
            d.dispute_id.to_string(),
            d.rep_id.clone(),
            d.period.clone(),
            d.state.clone(),
            d.reason.clone(),
            d.opened_by.clone(),
            d.resolution.clone().unwrap_or_default(),
            d.resolved_by.clone().unwrap_or_default(),
            d.adjustment_id.map(|a| a.to_string()).unwrap_or_default(),
        ]);
    }
    grid
}

/// The payroll file: one row a rep.
pub fn payroll_grid(rows: &[PayrollRow]) -> Grid {
    let mut grid = Grid::new(&[
        "rep_id",
        "name",
        "period",
        "currency",
        "amount",
        "adjustments",
    ]);
    for r in rows {
        grid.push(vec![
            r.rep_id.clone(),
            r.name.clone(),
            r.period.clone(),
            r.currency.clone(),
            r.amount.to_string(),
            r.adjustments.to_string(),
        ]);
    }
    grid
}

/// A plan's versions.
pub fn versions_grid(versions: &[VersionView]) -> Grid {
    let mut grid = Grid::new(&[
        "plan_id",
        "version",
        "effective_from",
        "effective_to",
        "in_book",
        "stored_at",
        "stored_by",
    ]);
    for v in versions {
        grid.push(vec![
            v.stored.plan_id.clone(),
            v.stored.version.clone(),
            v.stored
                .effective_from
                .map_or_else(|| "start".to_owned(), |d| d.to_string()),
            v.effective_to.map(|d| d.to_string()).unwrap_or_default(),
            v.in_book.to_string(),
            v.stored.stored_at.clone(),
            v.stored.stored_by.clone(),
        ]);
    }
    grid
}
