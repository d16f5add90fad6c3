//! The forecast calls step of a call: `calls.csv` (past calls, e.g. from a
//! spreadsheet a team kept), checked row by row and stored as history in
//! the call's transaction. Importing the same file again adds nothing.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};

use super::known::Known;
use super::{IngestError, Problem, Problems, TableSummary};
use crate::domain::{Money, Period};
use crate::store::{NewCall, StoreTx};

/// The file's columns: required, then optional.
const REQUIRED: [&str; 4] = ["person_id", "period", "submitted_at", "commit"];
const OPTIONAL: [&str; 3] = ["best_case", "pipeline", "note"];

/// Whether a file is a calls file (by its name).
pub(super) fn is_calls_file(stem: &str) -> bool {
    stem.eq_ignore_ascii_case("calls")
}

/// One row, checked.
struct Row {
    person_id: String,
    period: String,
    submitted_at: String,
    commit: Money,
    best_case: Option<Money>,
    pipeline: Option<Money>,
    note: Option<String>,
}

/// A moment as written: an RFC 3339 time, or a day (its start, UTC).
fn moment(raw: &str) -> Option<String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(
            t.with_timezone(&Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        );
    }
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    Some(
        day.and_hms_opt(0, 0, 0)?
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    )
}

/// Reads every calls file, reporting each problem with its row and column;
/// stores the rows when there is none. `None` when no calls file was given
/// or a problem was found.
pub(super) async fn calls(
    tx: &mut StoreTx,
    files: &[PathBuf],
    known: &Known,
    problems: &mut Problems,
) -> Result<Option<TableSummary>, IngestError> {
    if files.is_empty() {
        return Ok(None);
    }
    let mut rows = Vec::new();
    for path in files {
        each_row(
            path,
            ("a calls file", &REQUIRED, &OPTIONAL),
            problems,
            |row, problems| {
                let cell = |c: &str| row.cell(c);
                let mut bad = |column: &str, message: String| row.bad(problems, column, message);
                let person = cell("person_id");
                if !known.reps.contains_key(person) {
                    bad(
                        "person_id",
                        "no such person (stored, or in this call's reps)".into(),
                    );
                }
                let period = Period::parse(cell("period"));
                if let Err(e) = &period {
                    bad("period", format!("not YYYY-MM or YYYY-Qn: {e}"));
                }
                let submitted = moment(cell("submitted_at"));
                if submitted.is_none() {
                    bad(
                        "submitted_at",
                        "not a day (YYYY-MM-DD) or an RFC 3339 time".into(),
                    );
                }
                let amount = |c: &str| -> Result<Option<Money>, String> {
                    match cell(c) {
                        "" => Ok(None),
                        raw => Money::parse_non_negative(raw)
                            .map(Some)
                            .map_err(|e| e.to_string()),
                    }
                };
                let commit = match amount("commit") {
                    Ok(Some(m)) => Some(m),
                    Ok(None) => {
                        bad("commit", "required".into());
                        None
                    }
                    Err(e) => {
                        bad("commit", e);
                        None
                    }
                };
                let best_case = amount("best_case").unwrap_or_else(|e| {
                    bad("best_case", e);
                    None
                });
                let pipeline = amount("pipeline").unwrap_or_else(|e| {
                    bad("pipeline", e);
                    None
                });
                if let (Some(c), Some(b)) = (commit, best_case) {
                    if b < c {
                        bad("best_case", format!("under the commit {c}"));
                    }
                }
                if let (Ok(period), Some(submitted_at), Some(commit)) = (period, submitted, commit)
                {
                    let note = Some(cell("note").to_owned()).filter(|n| !n.is_empty());
                    rows.push(Row {
                        person_id: person.to_owned(),
                        period: period.to_string(),
                        submitted_at,
                        commit,
                        best_case,
                        pipeline,
                        note,
                    });
                }
            },
        );
    }
    if problems.any() {
        return Ok(None);
    }
    let mut summary = TableSummary::default();
    for row in &rows {
        summary.rows += 1;
        let stored = tx
            .insert_call_once(&NewCall {
                person_id: &row.person_id,
                period: &row.period,
                commit: row.commit,
                best_case: row.best_case,
                pipeline: row.pipeline,
                note: row.note.as_deref(),
                submitted_at: &row.submitted_at,
                submitted_by: "import",
                on_behalf: false,
            })
            .await?;
        if stored {
            summary.inserted += 1;
        } else {
            summary.unchanged += 1;
        }
    }
    Ok(Some(summary))
}

/// Opens a small CSV file whose columns are `required` and, optionally,
/// `optional` (no others): the reader and the header, or `None` with the
/// problems recorded. `what` names the file's kind in a message.
pub(super) fn open_csv(
    path: &std::path::Path,
    what: &str,
    required: &[&str],
    optional: &[&str],
    problems: &mut Problems,
) -> Option<(csv::Reader<std::fs::File>, Vec<String>)> {
    let name = path.display().to_string();
    let mut reader = match csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
    {
        Ok(r) => r,
        Err(e) => {
            problems.push(Problem::file(&name, format!("cannot read: {e}")));
            return None;
        }
    };
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect(),
        Err(e) => {
            problems.push(Problem::file(&name, format!("cannot read the header: {e}")));
            return None;
        }
    };
    let mut bad = false;
    for column in required {
        if !header.iter().any(|h| h == column) {
            problems.push(Problem::column(&name, column, "required column missing"));
            bad = true;
        }
    }
    for column in &header {
        if !required.contains(&column.as_str()) && !optional.contains(&column.as_str()) {
            let also = if optional.is_empty() {
                String::new()
            } else {
                format!(" and optionally {}", optional.join(", "))
            };
            problems.push(Problem::column(
                &name,
                column,
                &format!("unknown column; {what} has {}{also}", required.join(", ")),
            ));
            bad = true;
        }
    }
    (!bad).then_some((reader, header))
}

/// One record of a small CSV file, with where it stands.
pub(super) struct CsvRow<'r> {
    file: &'r str,
    row: usize,
    header: &'r [String],
    record: &'r csv::StringRecord,
}

impl CsvRow<'_> {
    /// The file it is in.
    pub(super) fn file(&self) -> &str {
        self.file
    }

    /// Its row number (the header is row 1).
    pub(super) fn row(&self) -> usize {
        self.row
    }

    /// The cell of `column` (empty when the file has no such column).
    pub(super) fn cell(&self, column: &str) -> &str {
        self.header
            .iter()
            .position(|h| h == column)
            .and_then(|i| self.record.get(i))
            .unwrap_or("")
    }

    /// Records a problem with the cell of `column`.
    pub(super) fn bad(&self, problems: &mut Problems, column: &str, message: String) {
        problems.push(Problem {
            file: self.file.to_owned(),
            row: Some(self.row),
            column: Some(column.to_owned()),
            value: Some(self.cell(column).to_owned()),
            message,
        });
    }
}

/// Calls `f` with each record of the small CSV file at `path` (see
/// [`open_csv`]; `kind` is its description and columns), reporting records
/// that are not CSV.
pub(super) fn each_row(
    path: &std::path::Path,
    (what, required, optional): (&str, &[&str], &[&str]),
    problems: &mut Problems,
    mut f: impl FnMut(&CsvRow<'_>, &mut Problems),
) {
    let name = path.display().to_string();
    let Some((mut reader, header)) = open_csv(path, what, required, optional, problems) else {
        return;
    };
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        match record {
            Ok(record) => f(
                &CsvRow {
                    file: &name,
                    row,
                    header: &header,
                    record: &record,
                },
                problems,
            ),
            Err(e) => problems.push(Problem {
                row: Some(row),
                ..Problem::file(&name, format!("not CSV: {e}"))
            }),
        }
    }
}
