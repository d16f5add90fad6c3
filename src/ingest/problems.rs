//! What an ingest says back: the problems that stopped it, or what it changed.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// One thing wrong with the input, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file (as given on the command line, or the API body's name).
    pub file: String,
    /// The row: in a CSV file the header is row 1 and the first record row 2,
    /// as a spreadsheet shows it; in a Parquet file the first record is row 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    /// The column, by its name in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The offending value, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem with a whole file.
    pub fn file(file: &str, message: impl Into<String>) -> Problem {
        Problem {
            file: file.to_owned(),
            row: None,
            column: None,
            value: None,
            message: message.into(),
        }
    }

    /// A problem with a whole column (missing, say).
    pub fn column(file: &str, column: &str, message: &str) -> Problem {
        Problem {
            column: Some(column.to_owned()),
            ..Problem::file(file, message)
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(row) = self.row {
            write!(f, ", row {row}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column {column}")?;
        }
        if let Some(value) = &self.value {
            write!(f, ", value {value:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a rejected ingest (up to a limit), and how many
/// there were in all.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    /// The problems, in file and row order, at most the configured limit.
    pub problems: Vec<Problem>,
    /// How many problems were found in all.
    pub total: usize,
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.total == 1 {
            "problem"
        } else {
            "problems"
        };
        writeln!(
            f,
            "ingest rejected, nothing was stored: {} {noun}",
            self.total
        )?;
        for problem in &self.problems {
            writeln!(f, "  {problem}")?;
        }
        if self.total > self.problems.len() {
            writeln!(f, "  ... and {} more", self.total - self.problems.len())?;
        }
        Ok(())
    }
}

/// Collects problems, keeping the first `limit` and counting the rest.
#[derive(Debug)]
pub struct Problems {
    kept: Vec<Problem>,
    total: usize,
    limit: usize,
}

impl Problems {
    /// An empty collection that keeps at most `limit` problems.
    pub fn new(limit: usize) -> Problems {
        Problems {
            kept: Vec::new(),
            total: 0,
            limit,
        }
    }

    /// Adds one problem.
    pub fn push(&mut self, problem: Problem) {
        self.total += 1;
        if self.kept.len() < self.limit {
            self.kept.push(problem);
        }
    }

    /// Whether any problem was found.
    pub fn any(&self) -> bool {
        self.total > 0
    }

    /// The report of everything found.
    pub fn into_report(self) -> ValidationReport {
        ValidationReport {
            problems: self.kept,
            total: self.total,
        }
    }
}

/// What an ingest did to one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TableSummary {
    /// Rows read from the files (after same-day collapsing of history).
    pub rows: u64,
    /// Rows that were new.
    pub inserted: u64,
    /// Rows that existed and changed.
    pub updated: u64,
    /// Rows that existed and were identical.
    pub unchanged: u64,
}

/// What a successful ingest did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct IngestSummary {
    /// Files loaded, with the table each fed.
    #[schema(value_type = Vec<Vec<String>>)]
    pub files: Vec<(String, String)>,
    /// Files passed over because no table claims their name.
    pub skipped: Vec<String>,
    /// Per table.
    pub tables: BTreeMap<String, TableSummary>,
    /// History snapshots added for deals whose current state changed.
    pub snapshots_added: u64,
    /// The run number recorded, or `None` when nothing changed.
    pub run_id: Option<i64>,
    /// Fingerprint of the stored data after the ingest.
    pub fingerprint: String,
}

impl IngestSummary {
    /// Whether the ingest changed anything.
    pub fn changed(&self) -> bool {
        self.snapshots_added > 0 || self.tables.values().any(|t| t.inserted + t.updated > 0)
    }
}
