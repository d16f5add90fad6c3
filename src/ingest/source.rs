//! Reading one source file (CSV or Parquet) with polars into text columns,
//! one per native field, ready for row-by-row validation.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicU64;

use polars::prelude::*;

use super::mapping::{Field, Lookup, TableMapping, fields, name_matches};
use super::problems::Problem;
use crate::store::Table;

/// A source file opened for reading, its columns lined up with the native
/// fields. Rows are read a window at a time ([`window`]).
pub struct SourceTable {
    /// The file, as shown in messages.
    pub file: String,
    /// The query reading the selected columns, all cast to text.
    pub plan: LazyFrame,
    /// Per native field (in [`fields`] order): its column in `frame`, if the
    /// file has one.
    pub field_columns: Vec<Option<usize>>,
    /// Per native field: the source column name, for messages.
    pub source_names: Vec<String>,
    /// `(closed, won)` flag columns in `frame`, when the status comes from flags.
    pub flag_columns: Option<(usize, usize)>,
    /// Number shown for the first data row: 2 in a CSV file (the header is
    /// row 1, as in a spreadsheet), 1 in a Parquet file.
    pub first_row_number: usize,
    /// Per field with a [`Lookup`]: key -> value, read from its file.
    pub lookups: HashMap<String, HashMap<String, String>>,
    /// Per field with a lookup: empty cells it filled.
    pub looked_up: HashMap<String, AtomicU64>,
    /// Columns read beside the native fields (a history's stage dates), by
    /// their name in the mapping: their index among the selected columns.
    pub extra_columns: HashMap<String, usize>,
    /// Per field with `or_else` columns: those the file has, in order.
    pub fallback_columns: HashMap<String, Vec<usize>>,
    /// Columns the mapping may use that the file lacks (history dates,
    /// `or_else` columns): passed over, and noted in the summary.
    pub absent_columns: Vec<String>,
    /// The field-change log beside the file, when the mapping replays one
    /// and the file is there.
    pub field_changes: Option<super::field_history::Changes>,
    /// What rows leave beside their records (see [`Side`]).
    pub side: std::sync::Mutex<Side>,
}

/// What a file's rows give beside their own records.
#[derive(Debug, Default)]
pub struct Side {
    /// Managers' names as written, by the id made from them (`add_managers`).
    pub manager_names: HashMap<String, String>,
    /// Snapshots made from deals' dates (`history` of a deal mapping).
    pub derived_history: Vec<crate::domain::HistoryRecord>,
    /// Counts noted in the summary, by what they count ("open deals
    /// without an amount", deals replayed from a field-change log, ...).
    pub counts: std::collections::BTreeMap<&'static str, u64>,
}

/// The file formats attain reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated text with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// The format a path's extension names, if attain reads it.
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }
}

fn normalise_header(name: &str) -> &str {
    name.trim_start_matches('\u{feff}').trim()
}

/// Reads the columns a table needs from a file. Every problem that makes
/// the file unusable as a whole (unreadable, a required column missing) is
/// returned; row-level problems are found later, row by row.
pub fn read_table(
    path: &Path,
    table: Table,
    mapping: &TableMapping,
) -> Result<SourceTable, Vec<Problem>> {
    let file = path.display().to_string();
    let whole_file = |message: String| vec![Problem::file(&file, message)];
    let format =
        Format::of(path).ok_or_else(|| whole_file("not a .csv or .parquet file".into()))?;
    let pl_path =
        PlRefPath::try_from_path(path).map_err(|e| whole_file(format!("cannot open: {e}")))?;
    let mut lazy = match format {
        Format::Csv => LazyCsvReader::new(pl_path)
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_missing_is_null(true)
            .with_glob(false)
            .finish(),
        Format::Parquet => LazyFrame::scan_parquet(
            pl_path,
            ScanArgsParquet {
                glob: false,
                ..Default::default()
            },
        ),
    }
    .map_err(|e| whole_file(format!("cannot read: {e}")))?;
    let schema = lazy
        .collect_schema()
        .map_err(|e| whole_file(format!("cannot read the header: {e}")))?;
    // Header names as written, keyed by their cleaned form (Excel puts a
    // byte-order mark before the first name).
    let header: Vec<(String, String)> = schema
        .iter_names()
        .map(|n| (normalise_header(n.as_str()).to_owned(), n.to_string()))
        .collect();
    let find = |wanted: &str| {
        header
            .iter()
            .find(|(clean, _)| clean == wanted)
            .or_else(|| {
                header
                    .iter()
                    .find(|(clean, _)| clean.eq_ignore_ascii_case(wanted))
            })
            .map(|(_, raw)| raw.clone())
    };

    let mut problems = Vec::new();
    let mut selected: Vec<String> = Vec::new();
    let mut select = |raw: String| -> usize {
        match selected.iter().position(|s| *s == raw) {
            Some(i) => i,
            None => {
                selected.push(raw);
                selected.len() - 1
            }
        }
    };
    let native: &[Field] = fields(table);
    let mut field_columns = Vec::with_capacity(native.len());
    let mut source_names = Vec::with_capacity(native.len());
    let mut flag_columns = None;
    if let Some(flags) = &mapping.status_flags {
        match (find(&flags.closed), find(&flags.won)) {
            (Some(closed), Some(won)) => flag_columns = Some((select(closed), select(won))),
            (closed, _) => {
                let missing = if closed.is_none() {
                    &flags.closed
                } else {
                    &flags.won
                };
                problems.push(Problem::column(
                    &file,
                    missing,
                    "required column is missing (status flag)",
                ));
            }
        }
    }
    for field in native {
        let source = mapping.source_column(field.name);
        source_names.push(source.to_owned());
        let has_fallback = mapping.or_else.contains_key(field.name);
        match find(source).filter(|_| mapping.reads_column(field.name)) {
            Some(raw) => field_columns.push(Some(select(raw))),
            None => {
                let covered_by_flags = field.name == "status" && mapping.status_flags.is_some();
                if field.required
                    && !covered_by_flags
                    && !mapping.fills(field.name)
                    && !has_fallback
                {
                    let message = if source == field.name {
                        "required column is missing".to_owned()
                    } else {
                        format!("required column is missing (it holds the {})", field.name)
                    };
                    problems.push(Problem::column(&file, source, &message));
                }
                field_columns.push(None);
            }
        }
    }
    let (extra_columns, fallback_columns, absent_columns) =
        optional_columns(mapping, &find, &mut select);
    let lookups = read_lookups(path, &file, mapping, &mut problems);
    let field_changes = match mapping
        .history
        .as_ref()
        .and_then(|h| h.field_history.as_ref())
    {
        Some(how) => {
            super::field_history::read(path, how, &mapping.date_formats()).unwrap_or_else(|found| {
                problems.extend(found);
                None
            })
        }
        None => None,
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let looked_up = lookups
        .keys()
        .map(|f| (f.clone(), AtomicU64::new(0)))
        .collect();
    let exprs: Vec<Expr> = selected
        .iter()
        .map(|name| col(name.as_str()).cast(DataType::String))
        .collect();
    Ok(SourceTable {
        file,
        plan: lazy.select(exprs),
        field_columns,
        source_names,
        flag_columns,
        first_row_number: match format {
            Format::Csv => 2,
            Format::Parquet => 1,
        },
        lookups,
        looked_up,
        extra_columns,
        fallback_columns,
        absent_columns,
        field_changes,
        side: std::sync::Mutex::default(),
    })
}

/// Columns used when the file has them: a history's stage dates (by name)
/// and the `or_else` columns (per field, in order), as indexes among the
/// selected columns; and those the file lacks.
#[allow(clippy::type_complexity)]
fn optional_columns(
    mapping: &TableMapping,
    find: &dyn Fn(&str) -> Option<String>,
    select: &mut dyn FnMut(String) -> usize,
) -> (
    HashMap<String, usize>,
    HashMap<String, Vec<usize>>,
    Vec<String>,
) {
    let mut extra = HashMap::new();
    let mut absent = Vec::new();
    if let Some(h) = &mapping.history {
        for column in h.stage_dates.values().chain(h.current_stage_date.iter()) {
            match find(column) {
                Some(raw) => {
                    extra.insert(column.clone(), select(raw));
                }
                None => absent.push(column.clone()),
            }
        }
    }
    let mut fallback: HashMap<String, Vec<usize>> = HashMap::new();
    for (field, columns) in &mapping.or_else {
        for column in columns {
            match find(column) {
                Some(raw) => fallback.entry(field.clone()).or_default().push(select(raw)),
                None => absent.push(column.clone()),
            }
        }
    }
    (extra, fallback, absent)
}

/// Every lookup of a mapping, read from its file: per field, key -> value.
/// A lookup that cannot be read is a problem of the file being read.
fn read_lookups(
    path: &Path,
    file: &str,
    mapping: &TableMapping,
    problems: &mut Vec<Problem>,
) -> HashMap<String, HashMap<String, String>> {
    let mut lookups = HashMap::new();
    for (field, lookup) in &mapping.lookup {
        match read_lookup(path, lookup) {
            Ok(map) => {
                lookups.insert(field.clone(), map);
            }
            Err(message) => problems.push(Problem::file(
                file,
                format!("lookup for {field}: {message}"),
            )),
        }
    }
    lookups
}

/// Reads a lookup's key and value columns from its file, found beside the
/// file being read (by name without extension, any case, CSV or Parquet).
/// The first row of a key wins.
fn read_lookup(beside: &Path, lookup: &Lookup) -> Result<HashMap<String, String>, String> {
    let found =
        read_beside(beside, &lookup.file, &[&lookup.key, &lookup.value])?.ok_or_else(|| {
            format!(
                "no file named {:?} (.csv or .parquet) beside it",
                lookup.file
            )
        })?;
    let keys = found.frame.columns()[0].str().map_err(|e| e.to_string())?;
    let values = found.frame.columns()[1].str().map_err(|e| e.to_string())?;
    let mut map = HashMap::new();
    for (k, v) in keys.iter().zip(values.iter()) {
        if let (Some(k), Some(v)) = (k, v) {
            let (k, v) = (k.trim(), v.trim());
            if !k.is_empty() && !v.is_empty() {
                map.entry(k.to_owned()).or_insert_with(|| v.to_owned());
            }
        }
    }
    Ok(map)
}

/// A second file read whole beside the one being loaded.
pub struct Beside {
    /// The file, as shown in messages.
    pub file: String,
    /// Number shown for its first data row (2 in CSV, 1 in Parquet).
    pub first_row_number: usize,
    /// The columns asked for, in that order, as text.
    pub frame: DataFrame,
}

/// Reads `columns` (as text, in order) of the file named `name` (without
/// extension, any case, `*` globs; CSV or Parquet) in the folder of
/// `beside`; the first such file by name. `None` when there is none; an
/// error names the file and what is wrong.
pub fn read_beside(beside: &Path, name: &str, columns: &[&str]) -> Result<Option<Beside>, String> {
    let dir = beside.parent().unwrap_or(Path::new("."));
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut found: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            Format::of(p).is_some()
                && p.file_stem()
                    .and_then(|s| s.to_str())
                    .is_some_and(|s| name_matches(name, s))
        })
        .collect();
    found.sort();
    let Some(path) = found.first() else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    let pl_path =
        PlRefPath::try_from_path(path).map_err(|e| format!("cannot open {shown}: {e}"))?;
    let format = Format::of(path);
    let mut lazy = match format {
        Some(Format::Parquet) => LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()),
        _ => LazyCsvReader::new(pl_path)
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_missing_is_null(true)
            .finish(),
    }
    .map_err(|e| format!("cannot read {shown}: {e}"))?;
    let schema = lazy
        .collect_schema()
        .map_err(|e| format!("cannot read the header of {shown}: {e}"))?;
    let mut selected = Vec::with_capacity(columns.len());
    for wanted in columns {
        let name = schema
            .iter_names()
            .find(|n| normalise_header(n.as_str()).eq_ignore_ascii_case(wanted))
            .ok_or_else(|| format!("{shown} has no column {wanted:?}"))?;
        selected.push(col(name.as_str()).cast(DataType::String));
    }
    let frame = lazy
        .select(selected)
        .collect()
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    Ok(Some(Beside {
        file: shown,
        first_row_number: if format == Some(Format::Parquet) {
            1
        } else {
            2
        },
        frame,
    }))
}

/// Reads rows `offset..offset + len` of a planned read (fewer at the end of
/// the file). polars pushes the slice into the scan, so only the window is
/// held in memory: a file of millions of rows is read in bounded memory.
pub fn window(plan: LazyFrame, offset: usize, len: usize) -> PolarsResult<DataFrame> {
    let len = IdxSize::try_from(len).unwrap_or(IdxSize::MAX);
    plan.slice(offset as i64, len).collect()
}
