//! Loading one file into one table: windows read off the runtime, chunks
//! parsed and checked, written while the whole call is still clean (on
//! SQLite the next chunk is checked while this one is written).

use chrono::{NaiveDate, NaiveDateTime};
use indicatif::{ProgressBar, ProgressStyle};
use polars::prelude::{DataFrame, PolarsResult};

use super::known::{Known, Seen};
use std::path::Path;

use super::rows::{self, DateParser, Row};
use super::source::{self, SourceTable, read_table};
use super::{CHUNK_ROWS, IngestError, Problem, Problems, ValidationReport, mapping};
use crate::store::{Store, StoreError, StoreTx, Table, TableSums};

/// Reads a file on a blocking thread: polars does heavy, CPU-bound work and
/// drives its own async runtime, which must not run on an async worker.
pub(super) async fn read_off_runtime(
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
pub(super) struct LoadStep<'a> {
    pub(super) window_rows: usize,
    pub(super) store: &'a Store,
    pub(super) table: Table,
    pub(super) source: &'a SourceTable,
    pub(super) mapping: &'a mapping::TableMapping,
    pub(super) progress: bool,
    pub(super) run: i64,
}

/// Rows of one chunk, parsed and checked, by table.
/// Each record carries the row number it came from.
pub(super) enum Parsed {
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
    pub(super) async fn load(
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
            IngestError::Invalid(ValidationReport::single(Problem::file(
                &self.source.file,
                message,
            )))
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
                IngestError::Invalid(ValidationReport::single(Problem::file(
                    &self.source.file,
                    format!("cannot read as text: {e}"),
                )))
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
                    let Some(deal) = rows::opportunity(&row, problems) else {
                        continue;
                    };
                    let derived = self
                        .mapping
                        .history
                        .as_ref()
                        .map(|how| rows::derived_history(&row, &deal, how, problems));
                    let open = deal.status == crate::domain::OpportunityStatus::Open;
                    if let Ok(mut side) = self.source.side.lock() {
                        if let Some((records, replayed)) = derived {
                            side.derived_history.extend(records);
                            if replayed {
                                *side
                                    .counts
                                    .entry("deals whose history was replayed from field changes")
                                    .or_default() += 1;
                            }
                        }
                        if open && deal.amount.is_none() {
                            *side
                                .counts
                                .entry("open deals without an amount")
                                .or_default() += 1;
                        }
                        if open && deal.close_date.is_none() {
                            *side
                                .counts
                                .entry("open deals without an expected close date")
                                .or_default() += 1;
                        }
                    }
                    v.push((deal, row.number));
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

    pub(super) fn row_problem(
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
}

impl Parsed {
    /// The latest day of activity the rows record: a deal created or
    /// closed, a snapshot, a booking (an open deal's expected close date is
    /// a plan, not activity).
    pub(super) fn last_activity(&self) -> Option<NaiveDate> {
        use crate::domain::OpportunityStatus;
        match self {
            Parsed::Opportunities(v) => v
                .iter()
                .map(|(o, _)| match o.status {
                    OpportunityStatus::Open => o.created_date,
                    _ => o
                        .close_date
                        .map_or(o.created_date, |c| c.max(o.created_date)),
                })
                .max(),
            Parsed::History(v) => v.iter().map(|(h, _, _)| h.as_of).max(),
            Parsed::Bookings(v) => v.iter().map(|(b, _)| b.booked_date).max(),
            Parsed::Territories(_) | Parsed::Reps(_) | Parsed::Quotas(_) => None,
        }
    }

    pub(super) fn len(&self) -> usize {
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
