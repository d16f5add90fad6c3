//! Writing a generated organisation as native CSV files.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use super::{SimError, SimOrg, forecast_category};

fn money(units: i64) -> String {
    format!("{units}.00")
}

fn date(d: Option<chrono::NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

pub(super) struct Out<'a> {
    pub(super) dir: &'a Path,
}

impl<'a> Out<'a> {
    /// Files written into `dir`, created if missing.
    pub(super) fn new(dir: &'a Path) -> Result<Out<'a>, SimError> {
        std::fs::create_dir_all(dir).map_err(|source| SimError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(Out { dir })
    }

    pub(super) fn file(
        &self,
        name: &str,
        header: &[&str],
        rows: impl Iterator<Item = Vec<String>>,
    ) -> Result<(), SimError> {
        let path = self.dir.join(name);
        let io = |source: std::io::Error| SimError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = File::create(&path).map_err(io)?;
        let mut writer = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, file));
        let csv_err = |e: csv::Error| io(std::io::Error::other(e));
        writer.write_record(header).map_err(csv_err)?;
        for row in rows {
            writer.write_record(&row).map_err(csv_err)?;
        }
        writer.flush().map_err(io)?;
        Ok(())
    }
}

/// Writes `territories.csv`, `reps.csv`, `opportunities.csv`,
/// `opportunity_history.csv`, `bookings.csv`, `quotas.csv`,
/// `comp_plans.toml`, `calls.csv`, `truth.csv`, `org_history.csv` when reps
/// changed teams and `fx_rates.csv` when some rows are in another
/// currency, into `dir` (created if missing).
pub fn write_org(org: &SimOrg, dir: &Path) -> Result<(), SimError> {
    let out = Out::new(dir)?;
    let (plans, plan_ids) = super::plans::plan_book(org);
    out.file(
        "territories.csv",
        &["territory_id", "name", "region"],
        org.territories
            .iter()
            .map(|t| vec![t.id.clone(), t.name.clone(), t.region.clone()]),
    )?;
    out.file(
        "reps.csv",
        &[
            "rep_id",
            "name",
            "manager_id",
            "territory_id",
            "role",
            "hire_date",
            "end_date",
            "plan_id",
        ],
        org.people.iter().map(|p| {
            vec![
                p.id.clone(),
                p.name.clone(),
                p.manager_id.clone().unwrap_or_default(),
                p.territory_id.clone().unwrap_or_default(),
                p.role.to_owned(),
                p.hire_date.to_string(),
                date(p.end_date),
                plan_ids.get(&p.id).cloned().unwrap_or_default(),
            ]
        }),
    )?;
    out.file(
        "opportunities.csv",
        &[
            "opportunity_id",
            "rep_id",
            "account",
            "product",
            "amount",
            "stage",
            "status",
            "created_date",
            "close_date",
            "forecast_category",
            "currency",
        ],
        org.deals.iter().filter_map(|d| {
            let now = d.history.last()?;
            Some(vec![
                d.id.clone(),
                d.rep_id.clone(),
                d.account.clone(),
                d.product.to_owned(),
                money(now.amount),
                now.stage.to_owned(),
                now.status.to_owned(),
                d.created.to_string(),
                now.close_date.to_string(),
                forecast_category(now.stage).to_owned(),
                d.currency.unwrap_or_default().to_owned(),
            ])
        }),
    )?;
    out.file(
        "opportunity_history.csv",
        &[
            "opportunity_id",
            "as_of",
            "stage",
            "status",
            "amount",
            "close_date",
            "forecast_category",
        ],
        org.deals.iter().flat_map(|d| {
            d.history.iter().map(move |h| {
                vec![
                    d.id.clone(),
                    h.as_of.to_string(),
                    h.stage.to_owned(),
                    h.status.to_owned(),
                    money(h.amount),
                    h.close_date.to_string(),
                    forecast_category(h.stage).to_owned(),
                ]
            })
        }),
    )?;
    out.file(
        "bookings.csv",
        &[
            "booking_id",
            "rep_id",
            "amount",
            "booked_date",
            "opportunity_id",
            "territory_id",
            "currency",
        ],
        org.bookings.iter().map(|b| {
            vec![
                b.id.clone(),
                b.rep_id.clone(),
                money(b.amount),
                b.date.to_string(),
                b.opportunity_id.clone().unwrap_or_default(),
                b.territory_id.clone(),
                b.currency.unwrap_or_default().to_owned(),
            ]
        }),
    )?;
    out.file(
        "quotas.csv",
        &["rep_id", "period", "amount", "currency"],
        org.quotas.iter().map(|q| {
            vec![
                q.rep_id.clone(),
                q.period.to_string(),
                money(q.amount),
                q.currency.unwrap_or_default().to_owned(),
            ]
        }),
    )?;
    write_rates(&out, org)?;
    if !org.org_history.is_empty() {
        out.file(
            "org_history.csv",
            &["rep_id", "from", "manager_id", "territory_id"],
            org.org_history.iter().map(|m| {
                vec![
                    m.rep_id.clone(),
                    m.from.to_string(),
                    m.manager_id.clone(),
                    m.territory_id.clone(),
                ]
            }),
        )?;
    }
    let plan_path = dir.join(crate::ingest::PLAN_FILE);
    std::fs::write(&plan_path, plans).map_err(|source| SimError::Io {
        path: plan_path.display().to_string(),
        source,
    })?;
    out.file(
        "truth.csv",
        &["rep_id", "pattern", "from_period", "detail", "value"],
        org.truth.iter().map(|t| {
            vec![
                t.rep_id.clone(),
                t.pattern.to_owned(),
                t.from.to_string(),
                t.detail.clone(),
                t.value.map(|v| format!("{v:.4}")).unwrap_or_default(),
            ]
        }),
    )?;
    out.file(
        "calls.csv",
        &[
            "person_id",
            "period",
            "submitted_at",
            "commit",
            "best_case",
            "note",
        ],
        org.calls.iter().map(|c| {
            vec![
                c.person_id.clone(),
                c.period.to_string(),
                c.submitted_at.clone(),
                money(c.commit),
                money(c.best_case),
                c.note.unwrap_or_default().to_owned(),
            ]
        }),
    )?;
    Ok(())
}

/// `fx_rates.csv`, when the organisation has rates.
pub(super) fn write_rates(out: &Out<'_>, org: &SimOrg) -> Result<(), SimError> {
    if org.fx_rates.is_empty() {
        return Ok(());
    }
    out.file(
        "fx_rates.csv",
        &["date", "currency", "rate"],
        org.fx_rates.iter().map(|r| {
            vec![
                r.date.to_string(),
                r.currency.to_owned(),
                format!("{:.4}", r.rate),
            ]
        }),
    )
}
