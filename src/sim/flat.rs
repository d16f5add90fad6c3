//! Writing a generated organisation the way a flat CRM export looks: one
//! row per deal with the owner's name instead of an id, the sales team in a
//! second file (agent, manager, office, all names), list prices in a third,
//! no history file, and blanks where such exports have them (no value on
//! open deals, no close date until a deal closes, some accounts missing).
//! Each deal names its currency, and the rates of the foreign ones are in
//! `fx_rates.csv`. A mapping that loads it is written beside it.

use std::collections::BTreeMap;
use std::path::Path;

use super::write::Out;
use super::{OPEN_STAGES, SimError, SimOrg};

/// The mapping that loads the flat layout, written as `crm_mapping.toml`.
pub const FLAT_MAPPING: &str = include_str!("../../data/presets/flat_example.toml");

/// Writes `sales_pipeline.csv`, `sales_teams.csv`, `products.csv` and
/// `crm_mapping.toml` into `dir` (created if missing).
pub fn write_flat(org: &SimOrg, dir: &Path) -> Result<(), SimError> {
    let out = Out::new(dir)?;
    let names: BTreeMap<&str, &str> = org
        .people
        .iter()
        .map(|p| (p.id.as_str(), p.name.as_str()))
        .collect();
    let office: BTreeMap<&str, &str> = org
        .territories
        .iter()
        .map(|t| (t.id.as_str(), t.name.as_str()))
        .collect();
    let name_of = |id: &str| names.get(id).copied().unwrap_or(id).to_owned();
    out.file(
        "sales_teams.csv",
        &["sales_agent", "manager", "regional_office"],
        // The flat layout has sellers only (an overlay has no office).
        org.people
            .iter()
            .filter(|p| p.role == "rep" && !p.is_overlay())
            .map(|p| {
                vec![
                    p.name.clone(),
                    p.manager_id.as_deref().map(name_of).unwrap_or_default(),
                    p.territory_id
                        .as_deref()
                        .and_then(|t| office.get(t).copied())
                        .unwrap_or_default()
                        .to_owned(),
                ]
            }),
    )?;
    // List prices: each product's median deal size.
    let mut sizes: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for d in &org.deals {
        if let Some(first) = d.history.first() {
            sizes.entry(d.product).or_default().push(first.amount);
        }
    }
    out.file(
        "products.csv",
        &["product", "sales_price"],
        sizes.into_iter().map(|(product, mut v)| {
            v.sort_unstable();
            vec![product.to_owned(), format!("{}", v[v.len() / 2])]
        }),
    )?;
    let mut header = vec![
        "opportunity_id",
        "sales_agent",
        "product",
        "account",
        "deal_stage",
        "engage_date",
    ];
    let stage_columns: Vec<String> = OPEN_STAGES[1..]
        .iter()
        .map(|s| format!("{}_date", s.to_lowercase()))
        .collect();
    header.extend(stage_columns.iter().map(String::as_str));
    header.extend(["close_date", "close_value", "currency"]);
    out.file(
        "sales_pipeline.csv",
        &header,
        org.deals.iter().filter_map(|d| {
            let now = d.history.last()?;
            let closed = now.status != "open";
            // About one deal in twelve has no account, as in real exports.
            let account = if d.id.bytes().map(u32::from).sum::<u32>() % 12 == 0 {
                String::new()
            } else {
                d.account.clone()
            };
            let mut row = vec![
                d.id.clone(),
                name_of(&d.rep_id),
                d.product.to_owned(),
                account,
                now.stage.to_owned(),
                d.created.to_string(),
            ];
            // The first day each later stage was reached.
            for stage in &OPEN_STAGES[1..] {
                let reached = d.history.iter().find(|h| h.stage == *stage);
                row.push(reached.map(|h| h.as_of.to_string()).unwrap_or_default());
            }
            row.push(if closed {
                now.close_date.to_string()
            } else {
                String::new()
            });
            row.push(if closed {
                format!("{}", now.amount)
            } else {
                String::new()
            });
            // Such exports name every deal's currency, the home one too.
            row.push(d.currency.unwrap_or("USD").to_owned());
            Some(row)
        }),
    )?;
    super::write::write_rates(&out, org)?;
    let path = dir.join("crm_mapping.toml");
    std::fs::write(&path, FLAT_MAPPING).map_err(|source| SimError::Io {
        path: path.display().to_string(),
        source,
    })
}
