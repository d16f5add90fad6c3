//! The organisation's history step of a call: `org_history.csv` (rep_id,
//! from, manager_id?, territory_id?: who a person reported to and which
//! territory they covered from that day on), checked row by row against
//! the people and territories stored or loaded in the same call, and
//! stored in the call's transaction.
//!
//! On a day, a person's manager is the latest manager their rows name on
//! or before it, else the one in reps.csv; the same for the territory. An
//! empty cell therefore keeps what was before.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::NaiveDate;

use super::calls::each_row;
use super::known::Known;
use super::{IngestError, Problems, TableSummary};
use crate::store::{OrgMove, StoreTx};

const REQUIRED: [&str; 2] = ["rep_id", "from"];
const OPTIONAL: [&str; 2] = ["manager_id", "territory_id"];

/// Whether a file is an organisation history file (by its name).
pub(super) fn is_org_file(stem: &str) -> bool {
    stem.eq_ignore_ascii_case("org_history")
}

/// Reads every history file, reporting each problem with its row and
/// column; stores the changes when there is none. `None` when no history
/// file was given or a problem was found.
pub(super) async fn org_history(
    tx: &mut StoreTx,
    files: &[PathBuf],
    known: &Known,
    problems: &mut Problems,
) -> Result<Option<TableSummary>, IngestError> {
    if files.is_empty() {
        return Ok(None);
    }
    let mut rows: Vec<(OrgMove, String, usize)> = Vec::new();
    // (rep, day) -> index in rows of the first row naming it.
    let mut seen: HashMap<(String, NaiveDate), usize> = HashMap::new();
    for path in files {
        each_row(
            path,
            ("an organisation history file", &REQUIRED, &OPTIONAL),
            problems,
            |row, problems| {
                let cell = |c: &str| row.cell(c).trim();
                let mut bad = |column: &str, message: String| row.bad(problems, column, message);
                let rep = cell("rep_id");
                let rep_ok = if rep.is_empty() {
                    bad("rep_id", "a person's id is required".into());
                    false
                } else if !known.reps.contains_key(rep) {
                    bad(
                        "rep_id",
                        "no such person in reps.csv (stored or in this call)".into(),
                    );
                    false
                } else {
                    true
                };
                let day = NaiveDate::parse_from_str(cell("from"), "%Y-%m-%d").ok();
                if day.is_none() {
                    bad("from", "not a day (YYYY-MM-DD)".into());
                }
                let manager = Some(cell("manager_id")).filter(|m| !m.is_empty());
                let territory = Some(cell("territory_id")).filter(|t| !t.is_empty());
                let mut ok = rep_ok && day.is_some();
                match manager {
                    Some(m) if m == rep => {
                        bad("manager_id", "a person cannot report to themselves".into());
                        ok = false;
                    }
                    Some(m) if !known.reps.contains_key(m) => {
                        bad(
                            "manager_id",
                            "no such person in reps.csv (stored or in this call)".into(),
                        );
                        ok = false;
                    }
                    _ => {}
                }
                if let Some(t) = territory {
                    if !known.territories.contains(t) {
                        bad(
                            "territory_id",
                            "no such territory in territories.csv (stored or in this call)".into(),
                        );
                        ok = false;
                    }
                }
                if manager.is_none() && territory.is_none() {
                    bad(
                        "manager_id",
                        "a row must name a manager, a territory or both".into(),
                    );
                    ok = false;
                }
                let (true, Some(day)) = (ok, day) else {
                    return;
                };
                let change = OrgMove {
                    rep_id: rep.to_owned(),
                    from: day,
                    manager_id: manager.map(str::to_owned),
                    territory_id: territory.map(str::to_owned),
                };
                match seen.get(&(change.rep_id.clone(), day)) {
                    Some(&i) if rows[i].0 != change => {
                        let (_, file, first) = &rows[i];
                        bad(
                            "from",
                            format!(
                                "{rep} already has another row from {day} ({file}, row {first})"
                            ),
                        );
                    }
                    Some(_) => {}
                    None => {
                        seen.insert((change.rep_id.clone(), day), rows.len());
                        rows.push((change, row.file().to_owned(), row.row()));
                    }
                }
            },
        );
    }
    if problems.any() {
        return Ok(None);
    }
    // Nobody may end up under themselves on any day a row starts.
    let mut all = tx.org_history().await?;
    all.retain(|m| !seen.contains_key(&(m.rep_id.clone(), m.from)));
    all.extend(rows.iter().map(|(m, _, _)| m.clone()));
    let timeline = Timeline::new(&all, known);
    for (m, file, row) in &rows {
        if let Some(chain) = timeline.cycle(&m.rep_id, m.from) {
            problems.push(super::Problem {
                file: file.clone(),
                row: Some(*row),
                column: Some("manager_id".to_owned()),
                value: m.manager_id.clone(),
                message: format!(
                    "from {} this makes a loop of managers: {}",
                    m.from,
                    chain.join(" -> ")
                ),
            });
        }
    }
    if problems.any() {
        return Ok(None);
    }
    let mut summary = TableSummary::default();
    for (m, _, _) in &rows {
        summary.count(tx.upsert_org_move(m).await?);
    }
    Ok(Some(summary))
}

/// Managers by day, by id, for the loop check.
struct Timeline<'a> {
    /// Per person: (day, manager) of their rows naming a manager, by day.
    moves: HashMap<&'a str, Vec<(NaiveDate, &'a str)>>,
    known: &'a Known,
}

impl<'a> Timeline<'a> {
    fn new(all: &'a [OrgMove], known: &'a Known) -> Timeline<'a> {
        let mut moves: HashMap<&str, Vec<(NaiveDate, &str)>> = HashMap::new();
        for m in all {
            if let Some(manager) = &m.manager_id {
                moves
                    .entry(m.rep_id.as_str())
                    .or_default()
                    .push((m.from, manager.as_str()));
            }
        }
        for list in moves.values_mut() {
            list.sort_unstable();
        }
        Timeline { moves, known }
    }

    fn manager_on(&self, person: &str, day: NaiveDate) -> Option<&'a str> {
        if let Some(list) = self.moves.get(person) {
            let i = list.partition_point(|(from, _)| *from <= day);
            if i > 0 {
                return Some(list[i - 1].1);
            }
        }
        self.known
            .reps
            .get(person)
            .and_then(|m| m.as_ref())
            .map(|m| m.as_str())
    }

    /// The chain from `person` back to them on `day`, if there is one.
    fn cycle<'p>(&self, person: &'p str, day: NaiveDate) -> Option<Vec<&'p str>>
    where
        'a: 'p,
    {
        let mut chain = vec![person];
        let mut at = self.manager_on(person, day);
        while let Some(x) = at {
            chain.push(x);
            if x == person {
                return Some(chain);
            }
            if chain.len() > self.known.reps.len() + 1 {
                return None;
            }
            at = self.manager_on(x, day);
        }
        None
    }
}
