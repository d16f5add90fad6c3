//! Ingestion: files (CSV or Parquet, in the native layout, a preset or any
//! layout through a [`Mapping`]) -> validated domain records -> one store
//! transaction.
//!
//! The guarantees, in the order a user meets them:
//! - every problem is reported with file, row, column and value (up to a
//!   limit), and a call with any problem stores **nothing**;
//! - a valid call is one transaction: a crash part-way leaves the store as it was;
//! - re-ingesting the same files changes nothing (identical rows are not
//!   rewritten, no run is recorded, the fingerprint stays);
//! - a newer export of opportunities updates their current state and adds a
//!   history snapshot dated `snapshot_date` for every deal whose state
//!   changed, so the pipeline as of any past date can still be rebuilt.
//!
//! Files are read and written table by table in dependency order
//! (territories, reps, deals, history, bookings, quotas), a chunk of rows at
//! a time, so memory stays bounded by the largest file, not the whole call.
//!
//! - [`mapping`]: the TOML column mapping and the built-in presets.
//! - [`plan_book`]: `comp_plans.toml` parsed and validated into a
//!   [`PlanBook`](crate::domain::PlanBook).
//! - `files`: which files a call loads and into which table.
//! - `source` and `rows`: polars reads a file; one row becomes one record.
//! - `load` and `check`: one file into one table, chunk by chunk; the
//!   checks of each table (duplicates, references, cycles).
//! - `known`: the ids a call knows exist, as hashed keys.
//! - `plans`: the plan book step.
//! - `problems`: every problem found, grouped for the report.

mod calls;
mod check;
mod field_history;
mod fields;
mod files;
mod fx;
mod known;
mod load;
pub mod mapping;
mod org_history;
pub mod plan_book;
mod plans;
mod problems;
mod rows;
mod source;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use chrono::NaiveDate;

pub use files::PLAN_FILE;
pub use mapping::{Mapping, MappingError};
pub use plan_book::{PlanProblem, parse_plan_book};
pub use problems::{IngestSummary, Problem, ProblemGroup, TableSummary, ValidationReport};
pub use source::Format;

use known::{Known, Seen};
use load::{LoadStep, read_off_runtime};
use problems::Problems;

use crate::domain::{FiscalCalendar, RepId};
use crate::store::{Store, StoreError, StoreTx, Table, TableSums};

/// Rows validated and written per step.
const CHUNK_ROWS: usize = 10_000;

/// Rows read from a file at a time by default: bounds the memory a large
/// file takes (a million rows of a history file is about 100 MB as text).
pub const WINDOW_ROWS: usize = 1_000_000;

/// Why an ingest did not happen.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The input has problems; the report lists them. Nothing was stored.
    #[error("{0}")]
    Invalid(ValidationReport),
    /// A path given does not exist or cannot be listed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// None of the files given holds a table this mapping knows.
    #[error(
        "no file to ingest in {0}: expected names such as opportunities.csv, reps.csv (or those of the mapping)"
    )]
    NothingToIngest(String),
    /// The store failed; the transaction was rolled back.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How an ingest runs.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// How source files map to tables and fields.
    pub mapping: Mapping,
    /// Date of the snapshots added for deals whose state changed (the date
    /// of the export). `None`: the export's own date, the latest activity
    /// its rows record.
    pub snapshot_date: Option<NaiveDate>,
    /// Check and count everything, then store nothing.
    pub dry_run: bool,
    /// Most problems listed in a rejection.
    pub max_problems: usize,
    /// Draw progress bars (they are hidden anyway when not on a terminal).
    pub progress: bool,
    /// Rows read from a file at a time (bounds memory; see [`WINDOW_ROWS`]).
    pub window_rows: usize,
    /// Fiscal calendar (comp plan periods and assignments follow it).
    pub fiscal: FiscalCalendar,
    /// Who ingests, for the audit trail (`cli:USER`, a token's name).
    pub actor: String,
    /// The organisation's currency (ISO 4217): rows in another one need
    /// its exchange rates.
    pub currency: String,
}

/// Loads files into the store: all or nothing.
pub async fn ingest(
    store: &Store,
    paths: &[PathBuf],
    options: &IngestOptions,
) -> Result<IngestSummary, IngestError> {
    let mut summary = IngestSummary::default();
    let Grouped {
        by_table,
        plan_files,
        call_files,
        fx_files,
        org_files,
    } = group_files(paths, options, &mut summary)?;
    let mut known = Known::stored(store, options.fiscal, &options.currency).await?;
    let mut problems = Problems::new(options.max_problems);
    // Tables this call filled from empty, with their fingerprint sums.
    let mut filled: BTreeMap<Table, TableSums> = BTreeMap::new();
    let mut tx = store.begin().await?;
    let run = tx.next_run_id().await?;
    let mut derived_history = Vec::new();
    for (table, files) in &by_table {
        let call = TableLoad {
            store,
            options,
            table: *table,
            run,
        };
        let (table_summary, sums) = call
            .load(
                &mut tx,
                files,
                &mut known,
                &mut problems,
                &mut derived_history,
            )
            .await?;
        if let Some(sums) = sums {
            filled.insert(*table, sums);
        }
        summary
            .tables
            .insert(table.name().to_owned(), table_summary);
    }
    // History made from the deals' dates, unless the call brings a history
    // file of its own.
    let derived_last = derived_history.iter().map(|h| h.as_of).max();
    if !derived_history.is_empty()
        && !by_table.contains_key(&Table::OpportunityHistory)
        && !problems.any()
    {
        known.last_activity = known.last_activity.max(derived_last);
        let table_summary = write_derived_history(&mut tx, derived_history).await?;
        filled.remove(&Table::OpportunityHistory);
        summary
            .tables
            .insert(Table::OpportunityHistory.name().to_owned(), table_summary);
    }
    let reps_loaded = by_table.contains_key(&Table::Reps);
    let plan_book = plans::plans(
        store,
        &mut tx,
        &plan_files,
        reps_loaded,
        &known,
        options,
        run,
        &mut problems,
    )
    .await?;
    if let Some((write, added)) = plan_book {
        use crate::store::PlanBookWrite;
        summary.plan_versions = added
            .into_iter()
            .map(|(plan, version)| format!("{plan} {version}"))
            .collect();
        summary.tables.insert(
            "comp_plans".to_owned(),
            TableSummary {
                rows: 1,
                inserted: u64::from(write == PlanBookWrite::Inserted),
                updated: u64::from(write == PlanBookWrite::Replaced),
                unchanged: u64::from(write == PlanBookWrite::Unchanged),
                notes: BTreeMap::new(),
            },
        );
    }
    if let Some(calls) = calls::calls(&mut tx, &call_files, &known, &mut problems).await? {
        summary.tables.insert("calls".to_owned(), calls);
    }
    if let Some(rates) = fx::rates(&mut tx, &fx_files, &known, &mut problems).await? {
        summary.tables.insert("fx_rates".to_owned(), rates);
    }
    fx::check_needs(&mut tx, &known, &mut problems).await?;
    if let Some(moves) =
        org_history::org_history(&mut tx, &org_files, &known, &mut problems).await?
    {
        summary.tables.insert("org_history".to_owned(), moves);
    }
    if problems.any() {
        tx.rollback().await?;
        return Err(IngestError::Invalid(problems.into_report()));
    }
    let export_date = match options.snapshot_date {
        Some(day) => {
            summary.export_date_given = true;
            Some(day)
        }
        None => known.last_activity,
    };
    summary.export_date = export_date;
    summary.dry_run = options.dry_run;
    // Without any activity in the rows there is no deal to snapshot
    // either; today only stands in for the record of the run.
    let snapshot_date = export_date.unwrap_or_else(|| chrono::Local::now().date_naive());
    commit(store, tx, run, snapshot_date, options, summary, filled).await
}

/// The files of a call: per table, and the plan book, calls, exchange
/// rates and the organisation's history apart.
struct Grouped {
    by_table: BTreeMap<Table, Vec<PathBuf>>,
    plan_files: Vec<PathBuf>,
    call_files: Vec<PathBuf>,
    fx_files: Vec<PathBuf>,
    org_files: Vec<PathBuf>,
}

/// Sorts the files of a call by table (and the plan book apart), noting
/// each in the summary; files no table claims are listed as skipped.
fn group_files(
    paths: &[PathBuf],
    options: &IngestOptions,
    summary: &mut IngestSummary,
) -> Result<Grouped, IngestError> {
    let mut by_table: BTreeMap<Table, Vec<PathBuf>> = BTreeMap::new();
    let mut plan_files = Vec::new();
    let mut call_files = Vec::new();
    let mut fx_files = Vec::new();
    let mut org_files = Vec::new();
    for file in files::expand(paths)? {
        if files::is_plan_file(&file) {
            summary
                .files
                .push((file.display().to_string(), "comp_plans".to_owned()));
            plan_files.push(file);
            continue;
        }
        // A flat export feeds several tables (people, offices) from one file.
        let tables = options.mapping.tables_for_file(&files::stem(&file));
        if tables.is_empty() && calls::is_calls_file(&files::stem(&file)) {
            summary
                .files
                .push((file.display().to_string(), "calls".to_owned()));
            call_files.push(file);
            continue;
        }
        if tables.is_empty() && fx::is_fx_file(&files::stem(&file)) {
            summary
                .files
                .push((file.display().to_string(), "fx_rates".to_owned()));
            fx_files.push(file);
            continue;
        }
        if tables.is_empty() && org_history::is_org_file(&files::stem(&file)) {
            summary
                .files
                .push((file.display().to_string(), "org_history".to_owned()));
            org_files.push(file);
            continue;
        }
        if tables.is_empty() {
            match options.mapping.read_beside(&files::stem(&file)) {
                Some(use_) => summary.files.push((file.display().to_string(), use_)),
                None => summary.skipped.push(file.display().to_string()),
            }
        }
        for table in tables {
            summary
                .files
                .push((file.display().to_string(), table.name().to_owned()));
            by_table.entry(table).or_default().push(file.clone());
        }
    }
    if by_table.is_empty()
        && plan_files.is_empty()
        && call_files.is_empty()
        && fx_files.is_empty()
        && org_files.is_empty()
    {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(IngestError::NothingToIngest(shown.join(", ")));
    }
    Ok(Grouped {
        by_table,
        plan_files,
        call_files,
        fx_files,
        org_files,
    })
}

/// Writes the snapshots made from deals' dates or field changes, counted as the history
/// table's rows.
async fn write_derived_history(
    tx: &mut StoreTx,
    records: Vec<crate::domain::HistoryRecord>,
) -> Result<TableSummary, IngestError> {
    let before = tx.count(Table::OpportunityHistory).await?;
    let mut changed = 0;
    for chunk in records.chunks(CHUNK_ROWS) {
        changed += tx.upsert(crate::store::Batch::History(chunk)).await?;
    }
    let after = tx.count(Table::OpportunityHistory).await?;
    let rows = records.len() as u64;
    let inserted = after.saturating_sub(before);
    let updated = changed.saturating_sub(inserted);
    let mut notes = BTreeMap::new();
    notes.insert(
        "snapshots made from the deals' dates or field changes".to_owned(),
        rows,
    );
    Ok(TableSummary {
        rows,
        inserted,
        updated,
        unchanged: rows.saturating_sub(changed),
        notes,
    })
}

/// The files of one table in one call.
struct TableLoad<'a> {
    store: &'a Store,
    options: &'a IngestOptions,
    table: Table,
    run: i64,
}

impl TableLoad<'_> {
    /// Loads every file of the table inside the call's transaction. Returns
    /// the table's summary and, when the table was empty and now holds
    /// exactly the rows written, their fingerprint sums.
    async fn load(
        &self,
        tx: &mut StoreTx,
        files: &[PathBuf],
        known: &mut Known,
        problems: &mut Problems,
        derived_history: &mut Vec<crate::domain::HistoryRecord>,
    ) -> Result<(TableSummary, Option<TableSums>), IngestError> {
        let table = self.table;
        let mut manager_names: HashMap<String, String> = HashMap::new();
        let before = tx.count(table).await?;
        // A first load of a large table builds its secondary indexes once
        // at the end instead of row by row.
        // (SQLite only: on PostgreSQL dropping an index locks the table
        // against readers until the commit.)
        let suspended = before == 0 && self.store.backend() == crate::store::Backend::Sqlite;
        if suspended {
            tx.suspend_indexes(table).await?;
        }
        let mapping = self
            .options
            .mapping
            .tables
            .get(table.name())
            .ok_or_else(|| IngestError::NothingToIngest(table.name().to_owned()))?;
        let mut summary = TableSummary::default();
        let mut changed = 0;
        let mut seen_keys = Seen::default();
        // Fingerprint sums of the rows handed to the store, while known.
        let mut table_sums = Some(TableSums::default());
        for path in files {
            let started = std::time::Instant::now();
            let source = match read_off_runtime(path, table, mapping).await {
                Ok(source) => source,
                Err(found) => {
                    found.into_iter().for_each(|p| problems.push(p));
                    continue;
                }
            };
            let step = LoadStep {
                window_rows: self.options.window_rows.max(1),
                store: self.store,
                table,
                source: &source,
                mapping,
                progress: self.options.progress,
                run: self.run,
            };
            tracing::info!(file = %path.display(), seconds = started.elapsed().as_secs_f64(), "opened");
            let started = std::time::Instant::now();
            let (rows, written, file_sums) = step.load(tx, known, &mut seen_keys, problems).await?;
            if let Ok(side) = source.side.into_inner() {
                derived_history.extend(side.derived_history);
                for (what, n) in side.counts {
                    *summary.notes.entry(what.to_owned()).or_default() += n;
                }
                for (id, name) in side.manager_names {
                    manager_names.entry(id).or_insert(name);
                }
            }
            for column in &source.absent_columns {
                summary.notes.insert(
                    format!("column {column:?} is not in {}: not used", path.display()),
                    0,
                );
            }
            let log = mapping
                .history
                .as_ref()
                .and_then(|h| h.field_history.as_ref());
            if let Some(log) = log.filter(|_| source.field_changes.is_none()) {
                summary.notes.insert(
                    format!(
                        "no {:?} file beside {}: history from the deals' dates",
                        log.file,
                        path.display()
                    ),
                    0,
                );
            }
            for (field, n) in &source.looked_up {
                let n = n.load(std::sync::atomic::Ordering::Relaxed);
                if n > 0 {
                    let lookup = &mapping.lookup[field];
                    *summary
                        .notes
                        .entry(format!(
                            "{field} filled from {}.{}",
                            lookup.file, lookup.value
                        ))
                        .or_default() += n;
                }
            }
            table_sums = table_sums.zip(file_sums).map(|(mut all, file)| {
                all += file;
                all
            });
            tracing::info!(file = %path.display(), rows, seconds = started.elapsed().as_secs_f64(), "validated and written");
            summary.rows += rows;
            changed += written;
        }
        let unresolved: Vec<(RepId, Problem)> = seen_keys.unresolved(known).collect();
        if mapping.add_managers {
            let added = add_managers(tx, unresolved, &manager_names, known).await?;
            changed += added;
            if added > 0 {
                summary
                    .notes
                    .insert("managers added from the manager column".to_owned(), added);
            }
        } else {
            unresolved.into_iter().for_each(|(_, p)| problems.push(p));
        }
        if suspended {
            tx.restore_indexes(table).await?;
        }
        // Counting a table of millions of rows takes a scan: skip it when
        // nothing was written, or when every row written into a table that
        // was empty is a row of its own (keys are unique within a call,
        // except history whose same-day rows overwrite each other).
        let overwrites =
            table == Table::OpportunityHistory && mapping.same_day == mapping::SameDay::Last;
        let after = if changed == 0 {
            before
        } else if before == 0 && !overwrites {
            changed
        } else {
            tx.count(table).await?
        };
        summary.inserted = after.saturating_sub(before);
        summary.updated = changed.saturating_sub(summary.inserted);
        summary.unchanged = summary.rows.saturating_sub(changed);
        // A table that was empty holds exactly the rows written into it
        // (each written once): the fingerprint need not sum it again.
        let filled = table_sums.filter(|s| {
            before == 0 && !overwrites && u64::try_from(s.rows).is_ok_and(|n| n == changed)
        });
        Ok((summary, filled))
    }
}

/// Makes a person (role manager, named as written) of every manager the
/// rows name who is not a row of the table; returns how many were written.
async fn add_managers(
    tx: &mut StoreTx,
    unresolved: Vec<(RepId, Problem)>,
    names: &HashMap<String, String>,
    known: &mut Known,
) -> Result<u64, IngestError> {
    let mut managers: Vec<crate::domain::Rep> = Vec::new();
    for (id, _) in unresolved {
        if known.reps.contains_key(id.as_str()) {
            continue;
        }
        known.reps.insert(id.as_str().to_owned(), None);
        managers.push(crate::domain::Rep {
            name: names
                .get(id.as_str())
                .cloned()
                .unwrap_or_else(|| id.as_str().to_owned()),
            rep_id: id,
            manager_id: None,
            territory_id: None,
            role: Some(crate::domain::RepRole::Manager),
            hire_date: None,
            end_date: None,
            plan_id: None,
        });
    }
    if managers.is_empty() {
        return Ok(0);
    }
    Ok(tx.upsert(crate::store::Batch::Reps(&managers)).await?)
}

/// The audit event of a run that changed something: rows per table and the
/// fingerprint. A run that changed only the comp plans is a plan change
/// (`plan_version`), any other an `ingest`.
fn audit_event<'a>(
    summary: &'a IngestSummary,
    run: i64,
    actor: &'a str,
) -> crate::store::NewEvent<'a> {
    let tables: BTreeMap<&str, serde_json::Value> = summary
        .tables
        .iter()
        .filter(|(_, t)| t.inserted + t.updated > 0)
        .map(|(name, t)| {
            (
                name.as_str(),
                serde_json::json!({"rows": t.rows, "inserted": t.inserted, "updated": t.updated}),
            )
        })
        .collect();
    let plans_only = summary.snapshots_added == 0 && tables.keys().all(|t| *t == "comp_plans");
    crate::store::NewEvent {
        actor,
        kind: if plans_only { "plan_version" } else { "ingest" },
        subject: if plans_only { "comp_plans" } else { "data" },
        before: None,
        after: Some(serde_json::json!({
            "run_id": run,
            "tables": tables,
            "snapshots_added": summary.snapshots_added,
            "fingerprint": summary.fingerprint,
            "plan_versions": summary.plan_versions,
            "files": summary.files.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        })),
        note: None,
    }
}

/// A clean call's end: snapshots of the deals whose state changed, the run
/// recorded and committed (or nothing, when nothing changed), and the
/// fingerprint of what the store now holds.
async fn commit(
    store: &Store,
    mut tx: StoreTx,
    run: i64,
    snapshot_date: NaiveDate,
    options: &IngestOptions,
    mut summary: IngestSummary,
    mut filled: BTreeMap<Table, TableSums>,
) -> Result<IngestSummary, IngestError> {
    let (dry_run, actor) = (options.dry_run, options.actor.as_str());
    let started = std::time::Instant::now();
    summary.snapshots_added = tx
        .snapshot_changed_opportunities(run, snapshot_date)
        .await?;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "snapshots");
    if summary.snapshots_added > 0 {
        filled.remove(&Table::OpportunityHistory);
    }
    let started = std::time::Instant::now();
    if dry_run {
        tx.rollback().await?;
        summary.fingerprint = store.fingerprint().await?;
        return Ok(summary);
    }
    if summary.changed() {
        let files: Vec<&str> = summary.files.iter().map(|(f, _)| f.as_str()).collect();
        let summary_json = serde_json::to_string(&summary.tables).unwrap_or_default();
        tx.record_run(run, snapshot_date, &files.join("\n"), &summary_json)
            .await?;
        summary.run_id = Some(run);
        // The fingerprint the commit leaves (the filled tables hold what
        // was summed while writing), recorded with the run's audit event.
        summary.fingerprint = tx.fingerprint_with(&filled).await?;
        tx.audit(&audit_event(&summary, run, actor)).await?;
        tx.commit().await?;
        tracing::info!(seconds = started.elapsed().as_secs_f64(), "commit");
        return Ok(summary);
    }
    tx.rollback().await?;
    summary.fingerprint = store.fingerprint().await?;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "fingerprint");
    Ok(summary)
}
