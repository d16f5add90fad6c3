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

/// Problems of one kind: the same message about the same column of one
/// file, however many rows have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProblemGroup {
    /// The file.
    pub file: String,
    /// The column, by its name in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How many rows (or files) have it.
    pub count: usize,
    /// The first rows that have it.
    pub rows: Vec<usize>,
    /// The first distinct values at fault.
    pub values: Vec<String>,
    /// What usually fixes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Rows and values shown per group.
const EXAMPLES: usize = 5;
/// Groups shown in a report; a call with more kinds of problem than this
/// counts the rest.
const MAX_GROUPS: usize = 40;

impl ProblemGroup {
    fn new(p: &Problem) -> ProblemGroup {
        ProblemGroup {
            file: p.file.clone(),
            column: p.column.clone(),
            message: p.message.clone(),
            count: 0,
            rows: Vec::new(),
            values: Vec::new(),
            hint: hint(&p.message).map(str::to_owned),
        }
    }

    fn add(&mut self, p: &Problem) {
        self.count += 1;
        if let Some(row) = p.row
            && self.rows.len() < EXAMPLES
        {
            self.rows.push(row);
        }
        if let Some(v) = &p.value
            && self.values.len() < EXAMPLES
            && !self.values.contains(v)
        {
            self.values.push(v.clone());
        }
    }
}

/// What usually fixes a problem, by its message.
fn hint(message: &str) -> Option<&'static str> {
    let hints: &[(&str, &str)] = &[
        (
            "unknown rep",
            "every rep_id must be a person loaded in this call or already stored; a mapping can build people from a name column (name_ids, see docs/data-formats.md)",
        ),
        (
            "unknown manager",
            "a manager must be a person of the reps table; add_managers = true makes one for every name in the manager column",
        ),
        (
            "unknown territory",
            "load territories.csv in the same call, or build territories from a column with a [tables.territories] mapping",
        ),
        (
            "unknown opportunity",
            "load the deals in the same call or before",
        ),
        (
            "not a date",
            "list the file's date format in the mapping's date_formats (for example \"%m/%d/%Y\")",
        ),
        (
            "not a decimal",
            "amounts are plain numbers such as 1234.50 or 1,234.50, without a currency sign",
        ),
        (
            "value is required",
            "give empty cells a value with [tables.NAME.fill], or map another column",
        ),
        (
            "required column is missing",
            "map the column under [tables.NAME.columns], or give every row one value with [tables.NAME.constants]",
        ),
        (
            "duplicate snapshot",
            "one snapshot per deal and day: same_day = \"last\" keeps the day's last row",
        ),
        (
            "duplicate",
            "ids must be unique in a call; repeated = \"merge\" keeps one of rows that agree",
        ),
        (
            "expected open, won or lost",
            "translate the file's stages with [tables.NAME.values.status]",
        ),
    ];
    hints
        .iter()
        .find(|(start, _)| message.starts_with(start))
        .map(|(_, h)| *h)
}

/// Every problem found in a rejected ingest, grouped by kind, and how many
/// there were in all.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    /// The problems one by one, in the order found, at most the configured
    /// limit.
    pub problems: Vec<Problem>,
    /// Every problem, grouped by file, column and message, in the order
    /// each kind was first met.
    pub groups: Vec<ProblemGroup>,
    /// How many problems were found in all.
    pub total: usize,
}

impl ValidationReport {
    /// A report of one problem.
    pub fn single(problem: Problem) -> ValidationReport {
        let mut all = Problems::new(1);
        all.push(problem);
        all.into_report()
    }
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.total == 1 {
            "problem"
        } else {
            "problems"
        };
        let kinds = match self.groups.len() {
            1 => String::new(),
            n => format!(" of {n} kinds"),
        };
        writeln!(
            f,
            "ingest rejected, nothing was stored: {} {noun}{kinds}",
            self.total
        )?;
        for g in &self.groups {
            if g.count == 1 {
                // One problem: as precisely as it was found.
                let one = self
                    .problems
                    .iter()
                    .find(|p| p.file == g.file && p.column == g.column && p.message == g.message);
                if let Some(p) = one {
                    writeln!(f, "  {p}")?;
                    if let Some(h) = &g.hint {
                        writeln!(f, "    hint: {h}")?;
                    }
                    continue;
                }
            }
            write!(f, "  {}", g.file)?;
            if let Some(c) = &g.column {
                write!(f, ", column {c}")?;
            }
            write!(f, ": {} ({} ", g.message, g.count)?;
            write!(f, "{}", if g.rows.is_empty() { "times" } else { "rows" })?;
            if !g.rows.is_empty() {
                let rows: Vec<String> = g.rows.iter().map(usize::to_string).collect();
                let more = if g.count > g.rows.len() { ", ..." } else { "" };
                write!(f, ": {}{more}", rows.join(", "))?;
            }
            if !g.values.is_empty() {
                let values: Vec<String> = g.values.iter().map(|v| format!("{v:?}")).collect();
                write!(f, "; values {}", values.join(", "))?;
                if g.count > g.values.len() {
                    write!(f, ", ...")?;
                }
            }
            writeln!(f, ")")?;
            if let Some(h) = &g.hint {
                writeln!(f, "    hint: {h}")?;
            }
        }
        let grouped: usize = self.groups.iter().map(|g| g.count).sum();
        if self.total > grouped {
            writeln!(f, "  ... and {} more of other kinds", self.total - grouped)?;
        }
        Ok(())
    }
}

/// Collects problems: every one counted in its group, the first `limit`
/// kept one by one.
#[derive(Debug)]
pub struct Problems {
    kept: Vec<Problem>,
    groups: Vec<ProblemGroup>,
    total: usize,
    limit: usize,
}

impl Problems {
    /// An empty collection that keeps at most `limit` problems one by one.
    pub fn new(limit: usize) -> Problems {
        Problems {
            kept: Vec::new(),
            groups: Vec::new(),
            total: 0,
            limit,
        }
    }

    /// Adds one problem.
    pub fn push(&mut self, problem: Problem) {
        self.total += 1;
        let same = |g: &ProblemGroup| {
            g.file == problem.file && g.column == problem.column && g.message == problem.message
        };
        let room = self.groups.len() < MAX_GROUPS;
        match self.groups.iter_mut().rev().find(|g| same(g)) {
            Some(g) => g.add(&problem),
            None if room => {
                let mut g = ProblemGroup::new(&problem);
                g.add(&problem);
                self.groups.push(g);
            }
            None => {}
        }
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
            groups: self.groups,
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
    /// What the mapping made or filled, and what the rows lack, counted
    /// (cells filled from a lookup, managers added, open deals without an
    /// amount or a close date, ...).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: BTreeMap<String, u64>,
}

impl TableSummary {
    /// Counts one row written: inserted when it changed the store, else
    /// unchanged.
    pub(crate) fn count(&mut self, changed: bool) {
        self.rows += 1;
        if changed {
            self.inserted += 1;
        } else {
            self.unchanged += 1;
        }
    }
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
    /// The day this export stands for, which the snapshots carry: the
    /// latest activity in its rows (a deal created or closed, a snapshot, a
    /// booking) unless the caller named the day; `None` when its rows
    /// record no activity (people or quotas alone).
    pub export_date: Option<chrono::NaiveDate>,
    /// Whether `export_date` was named by the caller rather than read from
    /// the rows.
    pub export_date_given: bool,
    /// Whether this was a dry run: everything checked, nothing stored.
    pub dry_run: bool,
    /// The run number recorded, or `None` when nothing changed.
    pub run_id: Option<i64>,
    /// Fingerprint of the stored data after the ingest.
    pub fingerprint: String,
    /// Plan versions stored for the first time (`plan version`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan_versions: Vec<String>,
}

impl IngestSummary {
    /// Whether the ingest changed anything.
    pub fn changed(&self) -> bool {
        self.snapshots_added > 0 || self.tables.values().any(|t| t.inserted + t.updated > 0)
    }
}
