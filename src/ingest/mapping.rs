//! Column mappings: which source file feeds which table, which source column
//! holds each native field, how values translate, and how dates are written.
//! The native layout and the presets are mappings too (`data/presets/*.toml`,
//! compiled in): every layout goes through one reader and one validation.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::store::Table;

/// Why a mapping file was refused.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The file could not be read.
    #[error("cannot read mapping {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid TOML, or an unknown key.
    #[error("mapping {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, with its line.
        message: String,
    },
    /// Valid TOML that names an unknown table or field, or a bad date format.
    #[error("mapping {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

pub use super::fields::{Field, fields};

/// A whole mapping: one entry per table it can load.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// A name shown in messages.
    #[serde(default)]
    pub name: Option<String>,
    /// Per table name (`opportunities`, `reps`, ...).
    #[serde(default)]
    pub tables: BTreeMap<String, TableMapping>,
}

/// How several rows for one deal on one day are treated (history files).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SameDay {
    /// Two snapshots of one deal on one day are an error (native format).
    #[default]
    Error,
    /// Keep the day's last one, by time stamp, then by row order.
    Last,
}

/// Derive a deal's status from two yes/no columns (Salesforce's
/// `IsClosed`/`IsWon`): closed and won = won, closed and not won = lost,
/// otherwise open.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusFlags {
    /// Column that says whether the deal is closed.
    pub closed: String,
    /// Column that says whether the deal is won.
    pub won: String,
}

/// How one table is read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableMapping {
    /// File names (without extension, any case) that hold this table.
    pub files: Vec<String>,
    /// Native field -> source column. A field not listed is read from a
    /// column with its native name, when the file has one.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Native field -> (source value -> native value). The key `"*"` catches
    /// every value not listed; values not listed and not caught pass as they are.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// chrono formats tried in order for every date field (date-only or
    /// date-time; a date-time keeps its calendar day in UTC when zoned).
    #[serde(default)]
    pub date_formats: Vec<String>,
    /// Status from two yes/no columns instead of a status column.
    #[serde(default)]
    pub status_flags: Option<StatusFlags>,
    /// What to do with several history rows for one deal on one day.
    #[serde(default)]
    pub same_day: SameDay,
    /// Fields whose cells hold a name (a person's, an office's) rather than
    /// an id: the id is made from the name ([`id_from_name`]), the same in
    /// every table, so a deal's owner finds the person built from another
    /// file's name column.
    #[serde(default)]
    pub name_ids: Vec<String>,
    /// Field -> the value of its empty cells (or of every row, when the file
    /// has no such column).
    #[serde(default)]
    pub fill: BTreeMap<String, String>,
    /// Field -> one value for every row; the file's column, if any, is not read.
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
    /// Field -> further columns tried, in order, where its own column is
    /// empty (a close date from "won time", else "lost time"). Columns the
    /// file does not have are passed over and noted in the summary.
    #[serde(default)]
    pub or_else: BTreeMap<String, Vec<String>>,
    /// Field -> where its empty cells are looked up in a second file.
    #[serde(default)]
    pub lookup: BTreeMap<String, Lookup>,
    /// Rows repeating an id: an error, or kept once when they agree
    /// (territories and people built from the columns of a flat export).
    #[serde(default)]
    pub repeated: Repeated,
    /// People only: every manager named in the manager column who is not a
    /// row of the table becomes one (role manager, named as written).
    #[serde(default)]
    pub add_managers: bool,
    /// Deals only: history snapshots made from the export's dates, for
    /// exports that carry their history nowhere else.
    #[serde(default)]
    pub history: Option<HistoryFromDates>,
}

/// Where a field's empty cells are looked up: the row of `file` whose
/// `key` column equals this row's `by` field gives the `value` column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// The second file, by its name without extension (any case); it is
    /// one of the files of the call.
    pub file: String,
    /// The native field of this table whose value is looked up.
    pub by: String,
    /// The column of the second file holding that value.
    pub key: String,
    /// The column of the second file holding the answer.
    pub value: String,
}

/// Rows that repeat an id within a call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Repeated {
    /// A second row with an id is an error.
    #[default]
    Error,
    /// Rows repeating an id are one record when they agree; a row that
    /// disagrees with the first is an error.
    Merge,
}

/// How a deal's history is made from its own dates: open from its created
/// day at `first_stage` (its current stage when not given), each stage on
/// the day in its column, the current stage on `current_stage_date`, and
/// won or lost on its close date.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryFromDates {
    /// The stage a deal opens at.
    #[serde(default)]
    pub first_stage: Option<String>,
    /// Stage -> the column holding the day the deal reached it.
    #[serde(default)]
    pub stage_dates: BTreeMap<String, String>,
    /// The column holding the day the deal reached its current stage.
    #[serde(default)]
    pub current_stage_date: Option<String>,
    /// A log of field changes to replay for the deals it covers, before
    /// the dates above (which serve the deals it does not cover).
    #[serde(default)]
    pub field_history: Option<FieldHistory>,
}

/// A log of field changes, one row per change of one field of one deal
/// (Salesforce's `OpportunityFieldHistory`): read from a file beside the
/// deals' file and replayed into snapshots. A deal's state on its created
/// day is each tracked field's value before its first change (its current
/// value when never changed); each later day carries the state after that
/// day's last change.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldHistory {
    /// The log's file, by name without extension (any case, `*` for any
    /// run of characters). Without such a file beside the deals' file the
    /// dates serve every deal, and the summary says so.
    pub file: String,
    /// The column holding the deal's id.
    pub deal: String,
    /// The column holding the moment of the change.
    pub at: String,
    /// The column naming the field changed.
    pub field: String,
    /// The column holding the value before the change.
    pub old: String,
    /// The column holding the value after the change.
    pub new: String,
    /// Native field (`stage`, `amount`, `close_date`) -> its name in the
    /// field column. Changes of other fields are passed over.
    pub fields: BTreeMap<String, String>,
    /// Stage -> the deal's status at that stage (`open`, `won`, `lost`;
    /// `*` for every other stage). A deal's current stage has its current
    /// status; a stage named nowhere is open.
    #[serde(default)]
    pub statuses: BTreeMap<String, String>,
}

impl FieldHistory {
    /// Fields a change log can carry.
    pub const FIELDS: [&'static str; 3] = ["stage", "amount", "close_date"];

    /// Why the log's settings cannot be used, if they cannot.
    fn problem(&self) -> Option<String> {
        if let Some(field) = self
            .fields
            .keys()
            .find(|f| !Self::FIELDS.contains(&f.as_str()))
        {
            return Some(format!(
                "field_history: {field:?} cannot be replayed (fields: {})",
                Self::FIELDS.join(", ")
            ));
        }
        if self.fields.is_empty() {
            return Some("field_history: `fields` names no field to replay".into());
        }
        self.statuses
            .iter()
            .find(|(_, status)| status.parse::<crate::domain::OpportunityStatus>().is_err())
            .map(|(stage, status)| {
                format!(
                    "field_history: status {status:?} of stage {stage:?} is not open, won or lost"
                )
            })
    }

    /// The status a deal had at `stage`, by the `statuses` table.
    pub fn status_of(&self, stage: &str) -> Option<crate::domain::OpportunityStatus> {
        self.statuses
            .get(stage)
            .or_else(|| self.statuses.get("*"))
            .and_then(|s| s.parse().ok())
    }
}

/// The id made from a name: lower case, letters and digits kept, every
/// other run of characters one `-` ("Jane  O'Doe" -> `jane-o-doe`). Two
/// spellings that differ only in case, spaces or punctuation are one id.
pub fn id_from_name(name: &str) -> String {
    let mut id = String::with_capacity(name.len());
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            id.push(c);
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    while id.ends_with('-') {
        id.pop();
    }
    id
}

/// Whether a file name (without extension) matches a mapping's name, in
/// any case, `*` standing for any run of characters.
pub fn name_matches(pattern: &str, stem: &str) -> bool {
    let pattern = pattern.to_lowercase();
    let stem = stem.to_lowercase();
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = stem.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Date formats tried when a mapping names none: ISO dates and the ISO
/// date-times that exports and Parquet casts produce.
pub const DEFAULT_DATE_FORMATS: &[&str] = &[
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
];

impl TableMapping {
    /// The source column a native field is read from.
    pub fn source_column<'a>(&'a self, field: &'a str) -> &'a str {
        self.columns.get(field).map_or(field, String::as_str)
    }

    /// Translates a raw value of a field through its value map.
    pub fn translate<'a>(&'a self, field: &str, raw: &'a str) -> &'a str {
        match self.values.get(field) {
            Some(map) => map
                .get(raw)
                .or_else(|| map.get("*"))
                .map_or(raw, String::as_str),
            None => raw,
        }
    }

    /// The date formats to try, in order.
    pub fn date_formats(&self) -> Vec<&str> {
        if self.date_formats.is_empty() {
            DEFAULT_DATE_FORMATS.to_vec()
        } else {
            self.date_formats.iter().map(String::as_str).collect()
        }
    }

    /// Whether a file (by its name without extension) holds this table.
    /// A name may hold `*`, matching any run of characters (exports that
    /// put the day in the file name).
    pub fn matches_file(&self, stem: &str) -> bool {
        self.files.iter().any(|f| name_matches(f, stem))
    }

    /// Whether the field is read from the cells of a column (not a constant).
    pub fn reads_column(&self, field: &str) -> bool {
        !self.constants.contains_key(field)
    }

    /// Whether the field's empty cells are given a value somehow (a fill, a
    /// lookup, a value map of `""`, a constant).
    pub fn fills(&self, field: &str) -> bool {
        self.fill.contains_key(field)
            || self.constants.contains_key(field)
            || self.lookup.contains_key(field)
            || self.values.get(field).is_some_and(|m| m.contains_key(""))
    }
}

impl TableMapping {
    /// Checks the settings that build records from columns: each names a
    /// field of the table and applies to it.
    fn check_extensions(
        &self,
        table: Table,
        invalid: &dyn Fn(&str, String) -> MappingError,
    ) -> Result<(), MappingError> {
        let known = fields(table);
        let field_list = || known.iter().map(|f| f.name).collect::<Vec<_>>().join(", ");
        let named = self
            .name_ids
            .iter()
            .map(|f| ("name_ids", f))
            .chain(self.fill.keys().map(|f| ("fill", f)))
            .chain(self.constants.keys().map(|f| ("constants", f)))
            .chain(self.or_else.keys().map(|f| ("or_else", f)))
            .chain(self.lookup.keys().map(|f| ("lookup", f)))
            .chain(self.lookup.values().map(|l| ("by", &l.by)));
        for (setting, field) in named {
            if !known.iter().any(|k| k.name == field) {
                // A field named as a key is found on its own line.
                let key = if matches!(setting, "name_ids" | "by") {
                    setting
                } else {
                    field
                };
                return Err(invalid(
                    key,
                    format!(
                        "{setting}: unknown field {field:?} (fields: {})",
                        field_list()
                    ),
                ));
            }
        }
        if let Some(f) = self.name_ids.iter().find(|f| !f.ends_with("_id")) {
            return Err(invalid(
                "name_ids",
                format!("name_ids: {f:?} is not an id field (only fields ending in _id hold ids)"),
            ));
        }
        if let Some(f) = self.constants.keys().find(|f| self.fill.contains_key(*f)) {
            return Err(invalid(
                "constants",
                format!(
                    "{f:?} has both a constant and a fill: a constant is every row's value, so the fill would never apply"
                ),
            ));
        }
        if self.status_flags.is_some()
            && (self.values.contains_key("status") || self.fills("status"))
        {
            return Err(invalid(
                "status_flags",
                "the status comes from status_flags, so a value map, fill or constant for status would never apply".into(),
            ));
        }
        if self.repeated == Repeated::Merge && !matches!(table, Table::Territories | Table::Reps) {
            return Err(invalid(
                "repeated",
                "repeated = \"merge\" applies to territories and reps only".into(),
            ));
        }
        if self.add_managers && table != Table::Reps {
            return Err(invalid(
                "add_managers",
                "add_managers applies to reps only".into(),
            ));
        }
        if self.add_managers && !self.name_ids.iter().any(|f| f == "manager_id") {
            return Err(invalid(
                "add_managers",
                "add_managers needs manager_id in name_ids: a manager is made from the name in the manager column".into(),
            ));
        }
        if self.history.is_some() && table != Table::Opportunities {
            return Err(invalid(
                "history",
                "history from dates applies to opportunities only".into(),
            ));
        }
        if let Some(message) = self
            .history
            .as_ref()
            .and_then(|h| h.field_history.as_ref())
            .and_then(FieldHistory::problem)
        {
            return Err(invalid("field_history", message));
        }
        Ok(())
    }
}

/// The line of `key` inside the `[tables.NAME...]` sections of a mapping's
/// text, for messages.
fn line_of(text: &str, table: &str, key: &str) -> Option<usize> {
    let header = format!("[tables.{table}");
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = t.starts_with(&header);
            if inside && t.contains(key) {
                return Some(i + 1);
            }
            continue;
        }
        if inside
            && t.split('=')
                .next()
                .is_some_and(|k| k.trim().trim_matches('"') == key)
        {
            return Some(i + 1);
        }
    }
    None
}

impl Mapping {
    /// Attain's own format.
    pub fn native() -> Mapping {
        Self::builtin("native", include_str!("../../data/presets/native.toml"))
    }

    /// Standard Salesforce exports.
    pub fn salesforce() -> Mapping {
        Self::builtin(
            "salesforce",
            include_str!("../../data/presets/salesforce.toml"),
        )
    }

    /// HubSpot's deal export.
    pub fn hubspot() -> Mapping {
        Self::builtin("hubspot", include_str!("../../data/presets/hubspot.toml"))
    }

    /// Pipedrive's deal export.
    pub fn pipedrive() -> Mapping {
        Self::builtin(
            "pipedrive",
            include_str!("../../data/presets/pipedrive.toml"),
        )
    }

    /// The names of the built-in presets.
    pub const PRESETS: [&str; 4] = ["native", "salesforce", "hubspot", "pipedrive"];

    /// A preset by name (see [`Mapping::PRESETS`]).
    pub fn preset(name: &str) -> Option<Mapping> {
        match name {
            "native" => Some(Self::native()),
            "salesforce" => Some(Self::salesforce()),
            "hubspot" => Some(Self::hubspot()),
            "pipedrive" => Some(Self::pipedrive()),
            _ => None,
        }
    }

    fn builtin(name: &str, text: &str) -> Mapping {
        // The presets are compiled in and covered by tests; failing here is a
        // build defect, not a user error.
        Self::parse(name, text).unwrap_or_else(|e| panic!("built-in preset {name} is invalid: {e}"))
    }

    /// Reads a mapping file.
    pub fn from_file(path: &Path) -> Result<Mapping, MappingError> {
        let text = std::fs::read_to_string(path).map_err(|source| MappingError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parses and checks mapping text; `origin` names it in messages.
    pub fn parse(origin: &str, text: &str) -> Result<Mapping, MappingError> {
        let mapping: Mapping = toml::from_str(text).map_err(|e| MappingError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| MappingError::Invalid {
            path: origin.to_owned(),
            message,
        };
        if mapping.tables.is_empty() {
            return Err(invalid("maps no table: add a [tables.NAME] section".into()));
        }
        for (name, table_mapping) in &mapping.tables {
            let table = Table::from_name(name).ok_or_else(|| {
                invalid(format!(
                    "unknown table {name:?} (known: {})",
                    Table::ALL.map(Table::name).join(", ")
                ))
            })?;
            let known = fields(table);
            let is_field = |f: &str| known.iter().any(|k| k.name == f);
            for field in table_mapping
                .columns
                .keys()
                .chain(table_mapping.values.keys())
            {
                if !is_field(field) {
                    return Err(invalid(format!(
                        "{}table {name}: unknown field {field:?} (fields: {})",
                        line_of(text, name, field).map_or(String::new(), |l| format!("line {l}: ")),
                        known.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                    )));
                }
            }
            if table_mapping.files.is_empty() {
                return Err(invalid(format!("table {name}: `files` lists no file name")));
            }
            table_mapping.check_extensions(table, &|key: &str, message: String| {
                invalid(format!(
                    "{}table {name}: {message}",
                    line_of(text, name, key).map_or(String::new(), |l| format!("line {l}: "))
                ))
            })?;
            if table_mapping.status_flags.is_some()
                && !matches!(table, Table::Opportunities | Table::OpportunityHistory)
            {
                return Err(invalid(format!(
                    "table {name}: status_flags only applies to deals"
                )));
            }
            if table_mapping.same_day == SameDay::Last && table != Table::OpportunityHistory {
                return Err(invalid(format!(
                    "table {name}: same_day only applies to opportunity_history"
                )));
            }
            for format in &table_mapping.date_formats {
                let bad = chrono::format::StrftimeItems::new(format)
                    .any(|item| matches!(item, chrono::format::Item::Error));
                if bad || format.is_empty() {
                    return Err(invalid(format!("table {name}: bad date format {format:?}")));
                }
            }
        }
        Ok(mapping)
    }

    /// Every table a file feeds, judged by its name without extension, in
    /// dependency order.
    pub fn tables_for_file(&self, stem: &str) -> Vec<Table> {
        Table::ALL
            .into_iter()
            .filter(|table| {
                self.tables
                    .get(table.name())
                    .is_some_and(|m| m.matches_file(stem))
            })
            .collect()
    }

    /// What reads a file that feeds no table of its own (a lookup's file,
    /// a field-change log), judged by its name without extension.
    pub fn read_beside(&self, stem: &str) -> Option<String> {
        self.tables.iter().find_map(|(table, m)| {
            let log = m
                .history
                .as_ref()
                .and_then(|h| h.field_history.as_ref())
                .filter(|f| name_matches(&f.file, stem))
                .map(|_| format!("{table} (field changes)"));
            log.or_else(|| {
                m.lookup
                    .iter()
                    .find(|(_, l)| name_matches(&l.file, stem))
                    .map(|(field, _)| format!("{table} (lookup for {field})"))
            })
        })
    }

    /// The first table a file feeds, judged by its name without extension.
    pub fn table_for_file(&self, stem: &str) -> Option<(Table, &TableMapping)> {
        // Walk tables in dependency order so the answer does not depend on
        // map ordering when two tables claim one name.
        Table::ALL.into_iter().find_map(|table| {
            self.tables
                .get(table.name())
                .filter(|m| m.matches_file(stem))
                .map(|m| (table, m))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_route_files() {
        let native = Mapping::native();
        assert_eq!(
            native.table_for_file("opportunities").unwrap().0,
            Table::Opportunities
        );
        assert!(native.table_for_file("truth").is_none());
        let sf = Mapping::salesforce();
        let (table, m) = sf.table_for_file("opportunity").unwrap();
        assert_eq!(table, Table::Opportunities);
        assert_eq!(m.source_column("rep_id"), "OwnerId");
        let (_, h) = sf.table_for_file("OpportunityHistory").unwrap();
        assert_eq!(h.translate("status", "Closed Won"), "won");
        assert_eq!(h.translate("status", "Negotiation/Review"), "open");
    }

    #[test]
    fn refuses_unknown_tables_fields_and_formats() {
        let err = Mapping::parse("m.toml", "[tables.deals]\nfiles=[\"x\"]").unwrap_err();
        assert!(err.to_string().contains("unknown table \"deals\""), "{err}");
        let err = Mapping::parse(
            "m.toml",
            "[tables.opportunities]\nfiles=[\"x\"]\n[tables.opportunities.columns]\nvalue=\"Amt\"",
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field \"value\""), "{err}");
        let err = Mapping::parse(
            "m.toml",
            "[tables.quotas]\nfiles=[\"q\"]\ndate_formats=[\"%Y-%Q\"]",
        )
        .unwrap_err();
        assert!(err.to_string().contains("bad date format"), "{err}");
        let err = Mapping::parse("m.toml", "[tables.quotas]\nfile=[\"q\"]").unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        let log = |fields: &str, statuses: &str| {
            format!(
                "[tables.opportunities]\nfiles=[\"o\"]\n\
                 [tables.opportunities.history.field_history]\n\
                 file=\"log\"\ndeal=\"D\"\nat=\"At\"\nfield=\"F\"\nold=\"Old\"\nnew=\"New\"\n\
                 fields={fields}\nstatuses={statuses}\n"
            )
        };
        let err = Mapping::parse("m.toml", &log("{ owner = \"Owner\" }", "{}")).unwrap_err();
        assert!(
            err.to_string().contains("\"owner\" cannot be replayed"),
            "{err}"
        );
        let err = Mapping::parse(
            "m.toml",
            &log("{ stage = \"Stage\" }", "{ \"Signed\" = \"booked\" }"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        assert!(
            err.to_string().contains("is not open, won or lost"),
            "{err}"
        );
        Mapping::parse(
            "m.toml",
            &log("{ stage = \"Stage\" }", "{ \"Signed\" = \"won\" }"),
        )
        .unwrap();
    }
}
