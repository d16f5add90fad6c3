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

pub mod mapping;
mod report;
mod rows;
mod source;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use indicatif::{ProgressBar, ProgressStyle};
use polars::prelude::{DataFrame, PolarsResult};

pub use mapping::{Mapping, MappingError};
pub use report::{IngestSummary, Problem, TableSummary, ValidationReport};
pub use source::Format;

use report::Problems;
use rows::{DateParser, Row};
use source::{SourceTable, read_table};

use crate::domain::{FiscalCalendar, HierarchyError, OrgChart, RepId};
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
    /// of the export; today unless told otherwise).
    pub snapshot_date: NaiveDate,
    /// Most problems listed in a rejection.
    pub max_problems: usize,
    /// Draw progress bars (they are hidden anyway when not on a terminal).
    pub progress: bool,
    /// Rows read from a file at a time (bounds memory; see [`WINDOW_ROWS`]).
    pub window_rows: usize,
    /// Fiscal calendar (comp plan periods and assignments follow it).
    pub fiscal: FiscalCalendar,
}

/// The file name of the comp plan book in a folder.
pub const PLAN_FILE: &str = "comp_plans.toml";

fn is_plan_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// Expands folders into the data files they hold (sorted by name), keeps
/// files as given.
fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, IngestError> {
    let mut out = Vec::new();
    for path in paths {
        let io = |source| IngestError::Io {
            path: path.display().to_string(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(io)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && (Format::of(p).is_some()
                            || p.file_name().is_some_and(|n| n == PLAN_FILE))
                })
                .collect();
            entries.sort();
            out.extend(entries);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A 128-bit hash standing for a key (an id, or id and day) in the sets that
/// find duplicates and references: millions of them fit in little memory,
/// and a false match is about as likely as a meteor strike.
type Key = u128;

fn key(parts: &[&str]) -> Key {
    use std::hash::{Hash, Hasher};
    let mut first = std::hash::DefaultHasher::new();
    let mut second = std::hash::DefaultHasher::new();
    0x5au8.hash(&mut second);
    for part in parts {
        part.hash(&mut first);
        part.hash(&mut second);
    }
    (u128::from(first.finish()) << 64) | u128::from(second.finish())
}

/// The key of an id on a day, derived from the id's key without hashing
/// text again (the hot path of a history file).
fn with_day(id_key: Key, day: NaiveDate) -> Key {
    let days = chrono::Datelike::num_days_from_ce(&day) as u32;
    id_key.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) ^ u128::from(days)
}

/// Keys met so far in one table during a call.
#[derive(Default)]
struct Seen {
    /// Every key loaded.
    keys: HashSet<Key>,
    /// History with `same_day = "last"`: the moment kept for each deal and day.
    moments: HashMap<Key, NaiveDateTime>,
}

/// What the call knows exists: stored ids plus those loaded so far.
struct Known {
    territories: HashSet<String>,
    /// Everyone stored or loaded, with their manager.
    reps: HashMap<String, Option<RepId>>,
    /// Stored deal ids, fetched on first need (they can be millions).
    stored_opportunities: Option<HashSet<Key>>,
    /// Deal ids loaded in this call.
    new_opportunities: HashSet<Key>,
    /// Every rep's `plan_id`, stored or loaded.
    plan_ids: HashMap<String, String>,
}

impl Known {
    fn has_opportunity(&self, id: &str) -> bool {
        self.has_opportunity_key(key(&[id]))
    }

    /// Whether a deal exists: loaded in this call, or stored (the stored
    /// ids must have been fetched when a chunk needs them, see
    /// [`Known::fetch_stored_opportunities_for`]).
    fn has_opportunity_key(&self, id: Key) -> bool {
        self.new_opportunities.contains(&id)
            || self
                .stored_opportunities
                .as_ref()
                .is_some_and(|s| s.contains(&id))
    }

    /// Fetches the stored deal ids (they can be millions), once.
    async fn fetch_stored_opportunities(&mut self, store: &Store) -> Result<(), StoreError> {
        if self.stored_opportunities.is_none() {
            let stored = store.ids(Table::Opportunities).await?;
            self.stored_opportunities = Some(stored.iter().map(|s| key(&[s])).collect());
        }
        Ok(())
    }

    /// Fetches the stored deal ids when a row of `parsed` refers to a deal
    /// not loaded in this call (a newer export of history alone, say).
    async fn fetch_stored_opportunities_for(
        &mut self,
        store: &Store,
        parsed: &Parsed,
    ) -> Result<(), StoreError> {
        if self.stored_opportunities.is_some() {
            return Ok(());
        }
        let needs = match parsed {
            Parsed::History(rows) => rows
                .iter()
                .any(|(h, _, _)| !self.has_opportunity(h.opportunity_id.as_str())),
            Parsed::Bookings(rows) => rows.iter().any(|(b, _)| {
                b.opportunity_id
                    .as_ref()
                    .is_some_and(|o| !self.has_opportunity(o.as_str()))
            }),
            _ => false,
        };
        if needs {
            self.fetch_stored_opportunities(store).await?;
        }
        Ok(())
    }
}

/// Loads files into the store: all or nothing.
pub async fn ingest(
    store: &Store,
    paths: &[PathBuf],
    options: &IngestOptions,
) -> Result<IngestSummary, IngestError> {
    let files = expand(paths)?;
    let mut summary = IngestSummary::default();
    let mut by_table: BTreeMap<Table, Vec<PathBuf>> = BTreeMap::new();
    let mut plan_files = Vec::new();
    for file in files {
        if is_plan_file(&file) {
            summary
                .files
                .push((file.display().to_string(), "comp_plans".to_owned()));
            plan_files.push(file);
            continue;
        }
        match options.mapping.table_for_file(&stem(&file)) {
            Some((table, _)) => {
                summary
                    .files
                    .push((file.display().to_string(), table.name().to_owned()));
                by_table.entry(table).or_default().push(file);
            }
            None => summary.skipped.push(file.display().to_string()),
        }
    }
    if by_table.is_empty() && plan_files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(IngestError::NothingToIngest(shown.join(", ")));
    }

    let stored_reps = store.reps().await?;
    let mut known = Known {
        territories: store.ids(Table::Territories).await?,
        plan_ids: stored_reps
            .iter()
            .filter_map(|r| Some((r.rep_id.as_str().to_owned(), r.plan_id.clone()?)))
            .collect(),
        reps: stored_reps
            .into_iter()
            .map(|r| (r.rep_id.as_str().to_owned(), r.manager_id))
            .collect(),
        stored_opportunities: None,
        new_opportunities: HashSet::new(),
    };

    let mut problems = Problems::new(options.max_problems);
    // Tables this call filled from empty, with their fingerprint sums.
    let mut filled: BTreeMap<Table, TableSums> = BTreeMap::new();
    let mut tx = store.begin().await?;
    let run = tx.next_run_id().await?;
    for (table, files) in &by_table {
        let before = tx.count(*table).await?;
        // A first load of a large table builds its secondary indexes once
        // at the end instead of row by row.
        // (SQLite only: on PostgreSQL dropping an index locks the table
        // against readers until the commit.)
        let suspended = before == 0 && store.backend() == crate::store::Backend::Sqlite;
        if suspended {
            tx.suspend_indexes(*table).await?;
        }
        let mut table_summary = TableSummary::default();
        let mut changed = 0;
        let mut seen_keys = Seen::default();
        // Fingerprint sums of the rows handed to the store, while known.
        let mut table_sums = Some(TableSums::default());
        let mapping = options
            .mapping
            .tables
            .get(table.name())
            .ok_or_else(|| IngestError::NothingToIngest(table.name().to_owned()))?;
        for path in files {
            let started = std::time::Instant::now();
            let source = match read_off_runtime(path, *table, mapping).await {
                Ok(source) => source,
                Err(found) => {
                    found.into_iter().for_each(|p| problems.push(p));
                    continue;
                }
            };
            let step = LoadStep {
                window_rows: options.window_rows.max(1),
                store,
                table: *table,
                source: &source,
                mapping,
                progress: options.progress,
                run,
            };
            tracing::info!(file = %path.display(), seconds = started.elapsed().as_secs_f64(), "opened");
            let started = std::time::Instant::now();
            let (rows, written, file_sums) = step
                .load(&mut tx, &mut known, &mut seen_keys, &mut problems)
                .await?;
            table_sums = table_sums.zip(file_sums).map(|(mut all, file)| {
                all += file;
                all
            });
            tracing::info!(file = %path.display(), rows, seconds = started.elapsed().as_secs_f64(), "validated and written");
            table_summary.rows += rows;
            changed += written;
        }
        if suspended {
            tx.restore_indexes(*table).await?;
        }
        // Counting a table of millions of rows takes a scan: skip it when
        // nothing was written, or when every row written into a table that
        // was empty is a row of its own (keys are unique within a call,
        // except history whose same-day rows overwrite each other).
        let overwrites =
            *table == Table::OpportunityHistory && mapping.same_day == mapping::SameDay::Last;
        let after = if changed == 0 {
            before
        } else if before == 0 && !overwrites {
            changed
        } else {
            tx.count(*table).await?
        };
        table_summary.inserted = after.saturating_sub(before);
        // A table that was empty holds exactly the rows written into it
        // (each written once): the fingerprint need not sum it again.
        if let Some(sums) = table_sums.filter(|s| {
            before == 0 && !overwrites && u64::try_from(s.rows).is_ok_and(|n| n == changed)
        }) {
            filled.insert(*table, sums);
        }
        table_summary.updated = changed.saturating_sub(table_summary.inserted);
        table_summary.unchanged = table_summary.rows.saturating_sub(changed);
        summary
            .tables
            .insert(table.name().to_owned(), table_summary);
    }

    let plans_changed = plans(
        store,
        &mut tx,
        &plan_files,
        by_table.contains_key(&Table::Reps),
        &known,
        options,
        run,
        &mut problems,
    )
    .await?;
    if let Some(write) = plans_changed {
        use crate::store::PlanBookWrite;
        summary.tables.insert(
            "comp_plans".to_owned(),
            TableSummary {
                rows: 1,
                inserted: u64::from(write == PlanBookWrite::Inserted),
                updated: u64::from(write == PlanBookWrite::Replaced),
                unchanged: u64::from(write == PlanBookWrite::Unchanged),
            },
        );
    }

    if problems.any() {
        tx.rollback().await?;
        return Err(IngestError::Invalid(problems.into_report()));
    }
    let started = std::time::Instant::now();
    summary.snapshots_added = tx
        .snapshot_changed_opportunities(run, options.snapshot_date)
        .await?;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "snapshots");
    if summary.snapshots_added > 0 {
        filled.remove(&Table::OpportunityHistory);
    }
    let started = std::time::Instant::now();
    if summary.changed() {
        let files: Vec<&str> = summary.files.iter().map(|(f, _)| f.as_str()).collect();
        let summary_json = serde_json::to_string(&summary.tables).unwrap_or_default();
        tx.record_run(run, options.snapshot_date, &files.join("\n"), &summary_json)
            .await?;
        summary.run_id = Some(run);
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "commit");
    let started = std::time::Instant::now();
    // Committed: the filled tables hold what was summed while writing.
    summary.fingerprint = if summary.run_id.is_some() {
        store.fingerprint_with(&filled).await?
    } else {
        store.fingerprint().await?
    };
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "fingerprint");
    Ok(summary)
}

/// Validates the plan book given (or, when reps changed, the stored one
/// against them) and writes a given one. `Some(what it did)` when a plan file
/// was given.
#[allow(clippy::too_many_arguments)]
async fn plans(
    store: &Store,
    tx: &mut StoreTx,
    plan_files: &[PathBuf],
    reps_loaded: bool,
    known: &Known,
    options: &IngestOptions,
    run: i64,
    problems: &mut Problems,
) -> Result<Option<crate::store::PlanBookWrite>, IngestError> {
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
    let to_problem = |p: crate::commission::PlanProblem| Problem {
        file: name.clone(),
        row: p.line,
        column: Some(p.location),
        value: None,
        message: p.message,
    };
    let book = match crate::commission::parse_plan_book(&source, options.fiscal) {
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
    let found = crate::commission::plan::check_references(
        &book,
        |id| known.reps.contains_key(id),
        &rep_plans,
    );
    let had = found.len();
    found.into_iter().for_each(|p| problems.push(to_problem(p)));
    if had > 0 || plan_files.is_empty() {
        return Ok(None);
    }
    Ok(Some(tx.put_plan_book(&source, run).await?))
}

/// Reads a file on a blocking thread: polars does heavy, CPU-bound work and
/// drives its own async runtime, which must not run on an async worker.
async fn read_off_runtime(
    path: &Path,
    table: Table,
    mapping: &mapping::TableMapping,
) -> Result<SourceTable, Vec<Problem>> {
    let (owned_path, owned_mapping) = (path.to_path_buf(), mapping.clone());
    tokio::task::spawn_blocking(move || read_table(&owned_path, table, &owned_mapping))
        .await
        .unwrap_or_else(|e| {
            Err(vec![Problem::file(
                &path.display().to_string(),
                format!("reader failed: {e}"),
            )])
        })
}

/// Loading one file into one table.
struct LoadStep<'a> {
    window_rows: usize,
    store: &'a Store,
    table: Table,
    source: &'a SourceTable,
    mapping: &'a mapping::TableMapping,
    progress: bool,
    run: i64,
}

/// Rows of one chunk, parsed and checked, by table.
/// Each record carries the row number it came from.
enum Parsed {
    Territories(Vec<(crate::domain::Territory, usize)>),
    Reps(Vec<(crate::domain::Rep, usize)>),
    Opportunities(Vec<(crate::domain::Opportunity, usize)>),
    History(Vec<(crate::domain::HistoryRecord, NaiveDateTime, usize)>),
    Bookings(Vec<(crate::domain::Booking, usize)>),
    Quotas(Vec<(crate::domain::Quota, usize)>),
}

impl LoadStep<'_> {
    /// Reads the file a window at a time and validates each window chunk
    /// by chunk, writing each chunk while the whole call is still clean.
    /// Returns rows read, rows written, and on SQLite the fingerprint sums
    /// of every row handed to the store (see [`TableSums`]).
    async fn load(
        &self,
        tx: &mut StoreTx,
        known: &mut Known,
        seen: &mut Seen,
        problems: &mut Problems,
    ) -> Result<(u64, u64, Option<TableSums>), IngestError> {
        let bar = self.progress_bar();
        let dates = DateParser::new(&self.mapping.date_formats());
        // People are checked as a whole (manager cycles), so they are read
        // and parsed completely before writing; everything else goes a chunk
        // at a time.
        let whole_file = self.table == Table::Reps;
        let window_rows = if whole_file {
            usize::MAX
        } else {
            self.window_rows
        };
        let mut read = 0u64;
        let mut written = 0u64;
        let mut window_start = 0;
        // On SQLite a checked chunk waits here while the next one is parsed
        // and checked on another thread, and is written meanwhile.
        let mut pending: Option<Ready> = None;
        let sqlite = self.store.backend() == crate::store::Backend::Sqlite;
        // The hashes are worked out before writing only on SQLite.
        let mut sums = sqlite.then(TableSums::default);
        if sqlite && matches!(self.table, Table::OpportunityHistory | Table::Bookings) {
            // The checks run off this task: stored deal ids are fetched
            // up front rather than on first need.
            known.fetch_stored_opportunities(self.store).await?;
        }
        // The next window is read on a blocking thread while this one is
        // checked and written, so reading costs (almost) no wall time.
        let mut next = Some(self.spawn_window(window_start, window_rows));
        while let Some(reading) = next.take() {
            let frame = self.window_result(reading).await?;
            let height = frame.height();
            if height == window_rows {
                next = Some(self.spawn_window(window_start + height, window_rows));
            }
            let chunk_rows = if whole_file {
                height.max(1)
            } else {
                CHUNK_ROWS
            };
            let mut offset = 0;
            while offset < height {
                let t0 = std::time::Instant::now();
                let parse = |problems: &mut Problems| {
                    self.parse_chunk(&frame, offset, chunk_rows, window_start, &dates, problems)
                };
                match sqlite {
                    true => {
                        let Some(writer) = tx.sqlite_writer().await? else {
                            return Err(StoreError::Corrupt(
                                "a SQLite store without a SQLite transaction".to_owned(),
                            )
                            .into());
                        };
                        // Whether everything up to the pending chunk is clean.
                        let clean = !problems.any();
                        let to_write = pending.take().filter(|_| clean);
                        if let (Some(sums), Some(ready)) = (sums.as_mut(), to_write.as_ref()) {
                            ready.hashes.iter().for_each(|h| sums.add(*h));
                        }
                        let (wrote, next, seconds) =
                            self.overlapped(&writer, to_write, parse, known, seen, problems);
                        written += wrote?;
                        let (ready, rows, check_seconds) = next?;
                        read += rows;
                        pending = Some(ready);
                        tracing::debug!(
                            check = check_seconds,
                            write = seconds,
                            both = t0.elapsed().as_secs_f64(),
                            "chunk"
                        );
                    }
                    false => {
                        let parsed = parse(problems)?;
                        let t1 = std::time::Instant::now();
                        known
                            .fetch_stored_opportunities_for(self.store, &parsed)
                            .await?;
                        let parsed = self.check(parsed, known, seen, problems);
                        let t2 = std::time::Instant::now();
                        read += parsed.len() as u64;
                        if !problems.any() {
                            written += write(tx, parsed, self.run).await?;
                        }
                        tracing::debug!(
                            parse = (t1 - t0).as_secs_f64(),
                            check = (t2 - t1).as_secs_f64(),
                            write = t2.elapsed().as_secs_f64(),
                            "chunk"
                        );
                    }
                }
                offset += chunk_rows;
                bar.set_position((window_start + offset.min(height)) as u64);
            }
            window_start += height;
        }
        if let Some(last) = pending.take() {
            if !problems.any() {
                if let Some(sums) = sums.as_mut() {
                    last.hashes.iter().for_each(|h| sums.add(*h));
                }
                written += tx.upsert(last.records.batch(self.run)).await?;
            }
        }
        bar.finish_and_clear();
        Ok((read, written, sums))
    }

    /// On SQLite: parses, checks and hashes the next chunk on a scoped
    /// thread while `to_write` (the chunk before, when everything so far is
    /// clean) is written on this one. Returns what the write did, the
    /// checked chunk with its row count and check time, and the write time.
    #[allow(clippy::type_complexity)]
    fn overlapped(
        &self,
        writer: &crate::store::SqliteWriter<'_>,
        to_write: Option<Ready>,
        parse: impl FnOnce(&mut Problems) -> Result<Parsed, IngestError> + Send,
        known: &mut Known,
        seen: &mut Seen,
        problems: &mut Problems,
    ) -> (
        Result<u64, StoreError>,
        Result<(Ready, u64, f64), IngestError>,
        f64,
    ) {
        crate::store::blocking(|| {
            std::thread::scope(|scope| {
                let checker = scope.spawn(|| {
                    let parsed = parse(problems)?;
                    let t = std::time::Instant::now();
                    let checked = self.check(parsed, known, seen, problems);
                    let rows = checked.len() as u64;
                    let ready = Ready::new(checked, self.run);
                    Ok((ready, rows, t.elapsed().as_secs_f64()))
                });
                let t = std::time::Instant::now();
                let wrote = match to_write {
                    Some(previous) => {
                        writer.upsert_hashed(previous.records.batch(self.run), &previous.hashes)
                    }
                    None => Ok(0),
                };
                let write_seconds = t.elapsed().as_secs_f64();
                let next = checker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (wrote, next, write_seconds)
            })
        })
    }

    /// Starts reading one window of the file on a blocking thread (see
    /// [`read_off_runtime`]).
    fn spawn_window(
        &self,
        offset: usize,
        len: usize,
    ) -> tokio::task::JoinHandle<PolarsResult<DataFrame>> {
        let plan = self.source.plan.clone();
        tokio::task::spawn_blocking(move || source::window(plan, offset, len))
    }

    /// The window a [`LoadStep::spawn_window`] read.
    async fn window_result(
        &self,
        reading: tokio::task::JoinHandle<PolarsResult<DataFrame>>,
    ) -> Result<DataFrame, IngestError> {
        let unreadable = |message: String| {
            IngestError::Invalid(ValidationReport {
                problems: vec![Problem::file(&self.source.file, message)],
                total: 1,
            })
        };
        reading
            .await
            .map_err(|e| unreadable(format!("reader failed: {e}")))?
            .map_err(|e| unreadable(format!("cannot read: {e}")))
    }

    fn progress_bar(&self) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {pos} rows ({per_sec})") {
            bar.set_style(style);
        }
        bar.set_message(self.source.file.clone());
        bar
    }

    fn parse_chunk(
        &self,
        frame: &DataFrame,
        offset: usize,
        len: usize,
        window_start: usize,
        dates: &DateParser,
        problems: &mut Problems,
    ) -> Result<Parsed, IngestError> {
        let part = frame.slice(offset as i64, len);
        let columns = part
            .columns()
            .iter()
            .map(|c| c.str())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                IngestError::Invalid(ValidationReport {
                    problems: vec![Problem::file(
                        &self.source.file,
                        format!("cannot read as text: {e}"),
                    )],
                    total: 1,
                })
            })?;
        let mut iters: Vec<_> = columns.iter().map(|c| c.iter()).collect();
        let mut values: Vec<Option<&str>> = vec![None; iters.len()];
        let mut parsed = match self.table {
            Table::Territories => Parsed::Territories(Vec::new()),
            Table::Reps => Parsed::Reps(Vec::new()),
            Table::Opportunities => Parsed::Opportunities(Vec::new()),
            Table::OpportunityHistory => Parsed::History(Vec::new()),
            Table::Bookings => Parsed::Bookings(Vec::new()),
            Table::Quotas => Parsed::Quotas(Vec::new()),
        };
        for i in 0..part.height() {
            for (value, iter) in values.iter_mut().zip(iters.iter_mut()) {
                *value = iter.next().flatten();
            }
            let row = Row {
                table: self.table,
                source: self.source,
                mapping: self.mapping,
                dates,
                values: &values,
                number: window_start + offset + i + self.source.first_row_number,
            };
            match &mut parsed {
                Parsed::Territories(v) => {
                    v.extend(rows::territory(&row, problems).map(|r| (r, row.number)))
                }
                Parsed::Reps(v) => v.extend(rows::rep(&row, problems).map(|r| (r, row.number))),
                Parsed::Opportunities(v) => {
                    v.extend(rows::opportunity(&row, problems).map(|r| (r, row.number)))
                }
                Parsed::History(v) => {
                    v.extend(rows::history(&row, problems).map(|(h, m)| (h, m, row.number)))
                }
                Parsed::Bookings(v) => {
                    v.extend(rows::booking(&row, problems).map(|r| (r, row.number)))
                }
                Parsed::Quotas(v) => v.extend(rows::quota(&row, problems).map(|r| (r, row.number))),
            }
        }
        Ok(parsed)
    }

    fn row_problem(
        &self,
        row: usize,
        field: &str,
        value: &str,
        message: impl Into<String>,
    ) -> Problem {
        let index = mapping::fields(self.table)
            .iter()
            .position(|f| f.name == field);
        Problem {
            file: self.source.file.clone(),
            row: Some(row),
            column: index.map(|i| self.source.source_names[i].clone()),
            value: Some(value.to_owned()),
            message: message.into(),
        }
    }

    /// Checks what a row cannot tell alone: duplicates, references to other
    /// tables, manager cycles. Drops rows that fail.
    fn check(
        &self,
        parsed: Parsed,
        known: &mut Known,
        seen: &mut Seen,
        problems: &mut Problems,
    ) -> Parsed {
        match parsed {
            Parsed::Territories(rows) => {
                let mut kept = Vec::with_capacity(rows.len());
                for (t, row) in rows {
                    if !seen.keys.insert(key(&[t.territory_id.as_str()])) {
                        problems.push(self.dup(row, "territory_id", t.territory_id.as_str()));
                        continue;
                    }
                    known.territories.insert(t.territory_id.as_str().to_owned());
                    kept.push((t, row));
                }
                Parsed::Territories(kept)
            }
            Parsed::Reps(rows) => {
                let mut kept = Vec::with_capacity(rows.len());
                for (r, row) in rows {
                    if !seen.keys.insert(key(&[r.rep_id.as_str()])) {
                        problems.push(self.dup(row, "rep_id", r.rep_id.as_str()));
                        continue;
                    }
                    kept.push((r, row));
                }
                for (r, _) in &kept {
                    known
                        .reps
                        .insert(r.rep_id.as_str().to_owned(), r.manager_id.clone());
                    match &r.plan_id {
                        Some(p) => known
                            .plan_ids
                            .insert(r.rep_id.as_str().to_owned(), p.clone()),
                        None => known.plan_ids.remove(r.rep_id.as_str()),
                    };
                }
                let row_of: HashMap<String, usize> = kept
                    .iter()
                    .map(|(r, row)| (r.rep_id.as_str().to_owned(), *row))
                    .collect();
                let mut valid = Vec::with_capacity(kept.len());
                for (r, row) in kept {
                    let mut ok = true;
                    if let Some(m) = &r.manager_id {
                        if !known.reps.contains_key(m.as_str()) {
                            problems.push(self.row_problem(
                                row,
                                "manager_id",
                                m.as_str(),
                                "unknown manager: no such rep_id",
                            ));
                            ok = false;
                        }
                    }
                    if let Some(t) = &r.territory_id {
                        if !known.territories.contains(t.as_str()) {
                            problems.push(self.row_problem(
                                row,
                                "territory_id",
                                t.as_str(),
                                "unknown territory",
                            ));
                            ok = false;
                        }
                    }
                    if ok {
                        valid.push((r, row));
                    }
                }
                let ids: Vec<(RepId, Option<RepId>)> = known
                    .reps
                    .iter()
                    .filter_map(|(id, m)| RepId::parse(id).ok().map(|id| (id, m.clone())))
                    .collect();
                if let Err(cycles) = OrgChart::build(ids.iter().map(|(r, m)| (r, m.as_ref()))) {
                    for HierarchyError::Cycle(path) in cycles {
                        let names: Vec<&str> = path.iter().map(RepId::as_str).collect();
                        // Point at the first person of the cycle this file sets.
                        let at = path
                            .iter()
                            .find_map(|id| row_of.get(id.as_str()).map(|row| (id, *row)));
                        let Some((id, row)) = at else { continue };
                        let manager = known.reps.get(id.as_str()).cloned().flatten();
                        problems.push(self.row_problem(
                            row,
                            "manager_id",
                            manager.as_ref().map_or("", RepId::as_str),
                            format!("manager cycle: {}", names.join(" -> ")),
                        ));
                    }
                }
                Parsed::Reps(valid)
            }
            Parsed::Opportunities(rows) => {
                let mut kept = Vec::with_capacity(rows.len());
                for (o, row) in rows {
                    let id = o.opportunity_id.as_str();
                    let id_key = key(&[id]);
                    if !seen.keys.insert(id_key) {
                        problems.push(self.dup(row, "opportunity_id", id));
                        continue;
                    }
                    if !known.reps.contains_key(o.rep_id.as_str()) {
                        problems.push(self.row_problem(
                            row,
                            "rep_id",
                            o.rep_id.as_str(),
                            "unknown rep",
                        ));
                        continue;
                    }
                    known.new_opportunities.insert(id_key);
                    kept.push((o, row));
                }
                Parsed::Opportunities(kept)
            }
            Parsed::History(rows) => {
                let same_day_last = self.mapping.same_day == mapping::SameDay::Last;
                // One record per deal and day. In "last" mode the latest
                // moment (then the latest row) wins, within a chunk and
                // across chunks (a later chunk's row overwrites through the
                // upsert); otherwise a second record is a problem.
                let mut keep = vec![true; rows.len()];
                let mut index_in_chunk: HashMap<Key, usize> = HashMap::new();
                let mut day_keys = Vec::with_capacity(rows.len());
                for (i, (h, moment, row)) in rows.iter().enumerate() {
                    let id_key = key(&[h.opportunity_id.as_str()]);
                    let day_key = with_day(id_key, h.as_of);
                    day_keys.push(id_key);
                    if same_day_last {
                        match seen.moments.get(&day_key) {
                            Some(earlier) if *earlier > *moment => keep[i] = false,
                            _ => {
                                seen.moments.insert(day_key, *moment);
                                if let Some(j) = index_in_chunk.insert(day_key, i) {
                                    keep[j] = false;
                                }
                            }
                        }
                    } else if !seen.keys.insert(day_key) {
                        problems.push(self.row_problem(
                            *row,
                            "as_of",
                            &h.as_of.to_string(),
                            "duplicate snapshot: an earlier row has this deal and day",
                        ));
                        keep[i] = false;
                    }
                }
                let mut kept = Vec::with_capacity(rows.len());
                for (((h, moment, row), keep), id_key) in rows.into_iter().zip(keep).zip(day_keys) {
                    if !keep {
                        continue;
                    }
                    if !known.has_opportunity_key(id_key) {
                        let id = h.opportunity_id.as_str();
                        problems.push(self.row_problem(
                            row,
                            "opportunity_id",
                            id,
                            "unknown opportunity",
                        ));
                        continue;
                    }
                    kept.push((h, moment, row));
                }
                Parsed::History(kept)
            }
            Parsed::Bookings(rows) => {
                let mut kept = Vec::with_capacity(rows.len());
                for (b, row) in rows {
                    let id = b.booking_id.as_str();
                    if !seen.keys.insert(key(&[id])) {
                        problems.push(self.dup(row, "booking_id", id));
                        continue;
                    }
                    let mut ok = true;
                    if !known.reps.contains_key(b.rep_id.as_str()) {
                        problems.push(self.row_problem(
                            row,
                            "rep_id",
                            b.rep_id.as_str(),
                            "unknown rep",
                        ));
                        ok = false;
                    }
                    if let Some(o) = &b.opportunity_id {
                        if !known.has_opportunity(o.as_str()) {
                            problems.push(self.row_problem(
                                row,
                                "opportunity_id",
                                o.as_str(),
                                "unknown opportunity",
                            ));
                            ok = false;
                        }
                    }
                    if let Some(t) = &b.territory_id {
                        if !known.territories.contains(t.as_str()) {
                            problems.push(self.row_problem(
                                row,
                                "territory_id",
                                t.as_str(),
                                "unknown territory",
                            ));
                            ok = false;
                        }
                    }
                    if ok {
                        kept.push((b, row));
                    }
                }
                Parsed::Bookings(kept)
            }
            Parsed::Quotas(rows) => {
                let mut kept = Vec::with_capacity(rows.len());
                for (q, row) in rows {
                    if !seen
                        .keys
                        .insert(key(&[q.rep_id.as_str(), &q.period.to_string()]))
                    {
                        problems.push(self.row_problem(
                            row,
                            "period",
                            &q.period.to_string(),
                            "duplicate quota for this rep and period",
                        ));
                        continue;
                    }
                    if !known.reps.contains_key(q.rep_id.as_str()) {
                        problems.push(self.row_problem(
                            row,
                            "rep_id",
                            q.rep_id.as_str(),
                            "unknown rep",
                        ));
                        continue;
                    }
                    kept.push((q, row));
                }
                Parsed::Quotas(kept)
            }
        }
    }

    fn dup(&self, row: usize, key_field: &str, key: &str) -> Problem {
        self.row_problem(
            row,
            key_field,
            key,
            format!("duplicate {key_field}: it appears earlier in this call"),
        )
    }
}

impl Parsed {
    fn len(&self) -> usize {
        match self {
            Parsed::Territories(v) => v.len(),
            Parsed::Reps(v) => v.len(),
            Parsed::Opportunities(v) => v.len(),
            Parsed::History(v) => v.len(),
            Parsed::Bookings(v) => v.len(),
            Parsed::Quotas(v) => v.len(),
        }
    }
}

/// A checked chunk's records, without their row numbers.
enum Records {
    Territories(Vec<crate::domain::Territory>),
    Reps(Vec<crate::domain::Rep>),
    Opportunities(Vec<crate::domain::Opportunity>),
    History(Vec<crate::domain::HistoryRecord>),
    Bookings(Vec<crate::domain::Booking>),
    Quotas(Vec<crate::domain::Quota>),
}

impl Records {
    fn from_parsed(parsed: Parsed) -> Records {
        match parsed {
            Parsed::Territories(v) => Records::Territories(records(v)),
            Parsed::Reps(v) => Records::Reps(records(v)),
            Parsed::Opportunities(v) => Records::Opportunities(records(v)),
            Parsed::History(v) => Records::History(v.into_iter().map(|(h, _, _)| h).collect()),
            Parsed::Bookings(v) => Records::Bookings(records(v)),
            Parsed::Quotas(v) => Records::Quotas(records(v)),
        }
    }

    fn batch(&self, run: i64) -> crate::store::Batch<'_> {
        use crate::store::Batch;
        match self {
            Records::Territories(v) => Batch::Territories(v),
            Records::Reps(v) => Batch::Reps(v),
            Records::Opportunities(v) => Batch::Opportunities(v, run),
            Records::History(v) => Batch::History(v),
            Records::Bookings(v) => Batch::Bookings(v),
            Records::Quotas(v) => Batch::Quotas(v),
        }
    }
}

async fn write(tx: &mut StoreTx, parsed: Parsed, run: i64) -> Result<u64, StoreError> {
    let records = Records::from_parsed(parsed);
    tx.upsert(records.batch(run)).await
}

/// A checked chunk ready for [`crate::store::SqliteWriter`]: its records and
/// their content hashes, worked out on the checking thread so the writing
/// thread only writes.
struct Ready {
    records: Records,
    hashes: Vec<i64>,
}

impl Ready {
    fn new(parsed: Parsed, run: i64) -> Ready {
        let records = Records::from_parsed(parsed);
        let hashes = crate::store::content_hashes(records.batch(run));
        Ready { records, hashes }
    }
}

fn records<T>(rows: Vec<(T, usize)>) -> Vec<T> {
    rows.into_iter().map(|(record, _)| record).collect()
}
