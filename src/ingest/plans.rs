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
) -> Result<Option<PlanBookWrite>, IngestError> {
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
    Ok(Some(tx.put_plan_book(&source, run).await?))
}
