//! The comp plan book step of a call: validate the book given (or, when
//! reps changed, the stored one against them) and write a given one.

use std::path::PathBuf;

use super::known::Known;
use super::plan_book::{self, PlanProblem};
use super::{IngestError, IngestOptions, Problem, Problems};
use crate::store::{PlanBookWrite, Store, StoreTx};

/// Validates the plan book given (or, when reps changed, the stored one
/// against them) and writes a given one. `Some(what it did)` when a plan file
/// was given.
#[allow(clippy::too_many_arguments)]
pub(super) async fn plans(
    store: &Store,
    tx: &mut StoreTx,
    plan_files: &[PathBuf],
    reps_loaded: bool,
    known: &Known,
    options: &IngestOptions,
    run: i64,
    problems: &mut Problems,
) -> Result<Option<(PlanBookWrite, Vec<(String, String)>)>, IngestError> {
    if plan_files.len() > 1 {
        for f in &plan_files[1..] {
            problems.push(Problem::file(
                &f.display().to_string(),
                "more than one comp plan file in one call: give one comp_plans.toml",
            ));
        }
        return Ok(None);
    }
    let (name, source) = match plan_files.first() {
        Some(path) => {
            let name = path.display().to_string();
            match std::fs::read_to_string(path) {
                Ok(text) => (name, text),
                Err(e) => {
                    problems.push(Problem::file(&name, format!("cannot read: {e}")));
                    return Ok(None);
                }
            }
        }
        None if reps_loaded => match store.plan_book().await? {
            Some(text) => ("stored comp plans".to_owned(), text),
            None => return Ok(None),
        },
        None => return Ok(None),
    };
    let to_problem = |p: PlanProblem| Problem {
        file: name.clone(),
        row: p.line,
        column: Some(p.location),
        value: None,
        message: p.message,
    };
    let book = match plan_book::parse_plan_book(&source, options.fiscal) {
        Ok(book) => book,
        Err(found) => {
            found.into_iter().for_each(|p| problems.push(to_problem(p)));
            return Ok(None);
        }
    };
    let mut rep_plans: Vec<(String, String)> = known
        .plan_ids
        .iter()
        .map(|(r, p)| (r.clone(), p.clone()))
        .collect();
    rep_plans.sort();
    let found = plan_book::check_references(&book, |id| known.reps.contains_key(id), &rep_plans);
    let had = found.len();
    found.into_iter().for_each(|p| problems.push(to_problem(p)));
    if had > 0 || plan_files.is_empty() {
        return Ok(None);
    }
    let (source, book) = match keep_closed(store, &source, &book, options).await? {
        Ok(Some(merged)) => merged,
        Ok(None) => (source, book),
        Err(found) => {
            found.into_iter().for_each(|p| problems.push(to_problem(p)));
            return Ok(None);
        }
    };
    let write = tx.put_plan_book(&source, run).await?;
    let versions: Vec<_> = book
        .plans
        .iter()
        .map(|p| {
            (
                p.id.clone(),
                p.version.clone(),
                p.effective_from,
                serde_json::to_value(p).unwrap_or_default(),
            )
        })
        .collect();
    let added = tx.record_plan_versions(&versions, &options.actor).await?;
    Ok(Some((write, added)))
}

/// A changed plan never rewrites a closed period unless the book says so:
/// when periods are closed, a plan's undated terms that differ from those
/// in force on the last closed day take effect from the day after it, and
/// the versions stored for the days before stay. A version dated in a
/// closed period is kept as given (a deliberate correction: it shows as
/// prior-period adjustments). `Ok(None)`: nothing to keep.
async fn keep_closed(
    store: &Store,
    source: &str,
    book: &crate::domain::PlanBook,
    options: &IngestOptions,
) -> Result<Result<Option<(String, crate::domain::PlanBook)>, Vec<PlanProblem>>, IngestError> {
    let Some(last_closed) = store.closes().await?.iter().map(|c| c.period_end).max() else {
        return Ok(Ok(None));
    };
    let Some(stored_source) = store.plan_book().await? else {
        return Ok(Ok(None));
    };
    let Ok(stored) = plan_book::parse_plan_book(&stored_source, options.fiscal) else {
        return Ok(Ok(None));
    };
    let open_from = last_closed.succ_opt().unwrap_or(last_closed);
    let terms = |p: &crate::domain::CompPlan| crate::domain::CompPlan {
        effective_from: None,
        version: String::new(),
        ..p.clone()
    };
    // The versions a book puts in force before the first open day.
    let before = |b: &'_ crate::domain::PlanBook,
                  id: &str|
     -> Vec<(Option<chrono::NaiveDate>, crate::domain::CompPlan)> {
        b.versions_of(id)
            .iter()
            .filter(|p| p.effective_from.is_none_or(|d| d < open_from))
            .map(|p| (p.effective_from, terms(p)))
            .collect()
    };
    // Plans whose closed days the file changes without dating the change:
    // their undated terms are taken as from the first open day.
    let mut changed: Vec<&str> = book
        .plans
        .iter()
        .map(|p| p.id.as_str())
        .filter(|id| !stored.versions_of(id).is_empty())
        .filter(|id| {
            book.versions_of(id)
                .iter()
                .all(|p| p.effective_from.is_none_or(|d| d >= open_from))
        })
        .filter(|id| before(book, id) != before(&stored, id))
        .collect();
    changed.dedup();
    if changed.is_empty() {
        return Ok(Ok(None));
    }
    // An undated version equal to the terms in force on the last closed
    // day changes nothing from the first open day either.
    let same_now = |id: &str| {
        let new = book
            .versions_of(id)
            .iter()
            .find(|p| p.effective_from.is_none());
        let old = stored.plan_at(id, last_closed);
        matches!((new, old), (Some(n), Some(o)) if terms(n) == terms(o))
    };
    let (Ok(mut new), Ok(old)) = (
        source.parse::<toml::Table>(),
        stored_source.parse::<toml::Table>(),
    ) else {
        return Ok(Ok(None));
    };
    let entries = |t: &toml::Table| -> Vec<toml::Table> {
        t.get("plan")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_table().cloned()).collect())
            .unwrap_or_default()
    };
    let id_of = |e: &toml::Table| {
        e.get("id")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    let from_of = |e: &toml::Table| {
        e.get("effective_from")
            .and_then(|v| v.as_str())
            .and_then(|d| chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
    };
    let mut plans: Vec<toml::Value> = Vec::new();
    for mut e in entries(&new) {
        let id = id_of(&e);
        if changed.contains(&id.as_str()) && from_of(&e).is_none() {
            // The stored versions before the first open day stay.
            plans.extend(
                entries(&old)
                    .into_iter()
                    .filter(|k| id_of(k) == id && from_of(k).is_none_or(|d| d < open_from))
                    .map(toml::Value::Table),
            );
            if same_now(&id) {
                continue;
            }
            e.insert(
                "effective_from".into(),
                toml::Value::String(open_from.to_string()),
            );
        }
        plans.push(toml::Value::Table(e));
    }
    new.insert("plan".into(), toml::Value::Array(plans));
    let Ok(text) = toml::to_string(&new) else {
        return Ok(Ok(None));
    };
    Ok(match plan_book::parse_plan_book(&text, options.fiscal) {
        Ok(merged) => Ok(Some((text, merged))),
        Err(found) => Err(found),
    })
}
