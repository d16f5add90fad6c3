//! Turning one source row into a domain record, reporting every problem in
//! it with its row, column and value.

use std::borrow::Cow;
use std::sync::atomic::Ordering;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::mapping::{TableMapping, fields, id_from_name};
use super::problems::{Problem, Problems};
use super::source::SourceTable;
use crate::domain::{
    Booking, BookingId, DealMeasures, HistoryRecord, Money, Opportunity, OpportunityId,
    OpportunityStatus, Period, Quota, Rep, RepId, RepRole, Territory, TerritoryId,
};
use crate::store::Table;

/// How date formats are applied, worked out once per file.
pub struct DateParser {
    formats: Vec<(String, DateKind)>,
    /// Whether plain ISO dates are among the formats (they get a fast path).
    iso: bool,
}

#[derive(Clone, Copy)]
enum DateKind {
    Date,
    DateTime,
    Zoned,
}

impl DateParser {
    /// A parser trying `formats` in order.
    pub fn new(formats: &[&str]) -> DateParser {
        let formats: Vec<(String, DateKind)> = formats
            .iter()
            .map(|f| {
                let kind = if f.contains("%z") || f.contains("%:z") || f.contains("%#z") {
                    DateKind::Zoned
                } else if ["%H", "%I", "%T", "%R"].iter().any(|t| f.contains(t)) {
                    DateKind::DateTime
                } else {
                    DateKind::Date
                };
                ((*f).to_owned(), kind)
            })
            .collect();
        DateParser {
            iso: formats.iter().any(|(f, _)| f == "%Y-%m-%d"),
            formats,
        }
    }

    /// The moment a value names (midnight for a plain date); a zoned time is
    /// taken in UTC.
    pub fn parse(&self, raw: &str) -> Option<NaiveDateTime> {
        if self.iso {
            if let Some(date) = parse_iso_date(raw) {
                return date.and_hms_opt(0, 0, 0);
            }
        }
        self.formats.iter().find_map(|(format, kind)| match kind {
            DateKind::Date => NaiveDate::parse_from_str(raw, format)
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0)),
            DateKind::DateTime => NaiveDateTime::parse_from_str(raw, format).ok(),
            DateKind::Zoned => DateTime::parse_from_str(raw, format)
                .ok()
                .map(|d| d.naive_utc()),
        })
    }
}

/// `YYYY-MM-DD` without going through a format string: most dates in most
/// files look like this, and it is the hot path of a large ingest.
fn parse_iso_date(raw: &str) -> Option<NaiveDate> {
    let b = raw.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)
}

/// One row of a source table, with what is needed to read and report on it.
pub struct Row<'a> {
    /// The table the row belongs to.
    pub table: Table,
    /// The file it came from.
    pub source: &'a SourceTable,
    /// How the file is mapped.
    pub mapping: &'a TableMapping,
    /// Dates, as the mapping says they are written.
    pub dates: &'a DateParser,
    /// Values by column of `source.frame`.
    pub values: &'a [Option<&'a str>],
    /// The row number shown in messages.
    pub number: usize,
}

impl<'a> Row<'a> {
    fn field_index(&self, field: &str) -> usize {
        fields(self.table)
            .iter()
            .position(|f| f.name == field)
            .unwrap_or_else(|| panic!("{field} is not a field of {}", self.table.name()))
    }

    fn raw(&self, field: &str) -> Option<&'a str> {
        let cell = |column: usize| {
            let value = self.values[column]?.trim();
            if value.is_empty() { None } else { Some(value) }
        };
        self.source.field_columns[self.field_index(field)]
            .and_then(cell)
            .or_else(|| {
                self.source
                    .fallback_columns
                    .get(field)?
                    .iter()
                    .find_map(|c| cell(*c))
            })
    }

    /// A field's value as the mapping gives it: a constant, or the cell
    /// translated through the value map, or for an empty cell its `""`
    /// translation, fill or lookup; an id made from a name for the
    /// mapping's `name_ids`. `None` when empty.
    pub fn text(&self, field: &str) -> Option<Cow<'a, str>> {
        let m = self.mapping;
        let value: &'a str = match m.constants.get(field) {
            Some(c) => c.as_str(),
            None => match self.raw(field) {
                Some(raw) => m.translate(field, raw),
                None => self.empty_cell(field)?,
            },
        };
        if value.is_empty() {
            None
        } else if m.name_ids.iter().any(|f| f == field) {
            // A name with no letter or digit makes no id.
            let id = id_from_name(value);
            (!id.is_empty()).then_some(Cow::Owned(id))
        } else {
            Some(Cow::Borrowed(value))
        }
    }

    /// What the mapping puts in a field's empty cell, if anything.
    fn empty_cell(&self, field: &str) -> Option<&'a str> {
        let m = self.mapping;
        if let Some(v) = m.values.get(field).and_then(|map| map.get("")) {
            return Some(v.as_str());
        }
        if let Some(v) = m.fill.get(field) {
            return Some(v.as_str());
        }
        let lookup = m.lookup.get(field)?;
        let key = self.raw(&lookup.by)?;
        let found = self.source.lookups.get(field)?.get(key)?;
        if let Some(n) = self.source.looked_up.get(field) {
            n.fetch_add(1, Ordering::Relaxed);
        }
        Some(found.as_str())
    }

    /// A date from a column read beside the native fields; a bad one is
    /// reported and read as no date.
    fn extra_date(&self, column: &str, problems: &mut Problems) -> Option<NaiveDate> {
        let index = *self.source.extra_columns.get(column)?;
        let raw = self.values[index]?.trim();
        if raw.is_empty() {
            return None;
        }
        let day = self.dates.parse(raw).map(|m| m.date());
        if day.is_none() {
            problems.push(self.column_problem(
                column,
                raw,
                "not a date in a known format (expected YYYY-MM-DD)",
            ));
        }
        day
    }

    /// A problem at this row in a column that holds no native field.
    fn column_problem(&self, column: &str, value: &str, message: &str) -> Problem {
        Problem {
            file: self.source.file.clone(),
            row: Some(self.number),
            column: Some(column.to_owned()),
            value: Some(value.to_owned()),
            message: message.to_owned(),
        }
    }

    /// A problem at this row in a field's column.
    pub fn problem(&self, field: &str, value: Option<&str>, message: impl Into<String>) -> Problem {
        Problem {
            file: self.source.file.clone(),
            row: Some(self.number),
            column: Some(self.source.source_names[self.field_index(field)].clone()),
            value: value.map(str::to_owned),
            message: message.into(),
        }
    }

    /// A value that must be present.
    pub fn required(&self, field: &str, problems: &mut Problems) -> Option<Cow<'a, str>> {
        let value = self.text(field);
        if value.is_none() {
            problems.push(self.problem(field, None, "value is required"));
        }
        value
    }

    fn parsed<T, E: std::fmt::Display>(
        &self,
        field: &str,
        value: Option<Cow<'a, str>>,
        parse: impl FnOnce(&str) -> Result<T, E>,
        problems: &mut Problems,
    ) -> Result<Option<T>, ()> {
        match value {
            None => Ok(None),
            Some(v) => parse(&v).map(Some).map_err(|e| {
                problems.push(self.problem(field, Some(&v), e.to_string()));
            }),
        }
    }

    /// The field's text: `Err` (with a problem) when it is required and
    /// empty, `None` when it is optional and empty.
    fn present(
        &self,
        field: &str,
        required: bool,
        problems: &mut Problems,
    ) -> Result<Option<Cow<'a, str>>, ()> {
        if !required {
            return Ok(self.text(field));
        }
        match self.required(field, problems) {
            Some(v) => Ok(Some(v)),
            None => Err(()),
        }
    }

    fn id<T, E: std::fmt::Display>(
        &self,
        field: &str,
        required: bool,
        parse: impl FnOnce(&str) -> Result<T, E>,
        problems: &mut Problems,
    ) -> Result<Option<T>, ()> {
        let value = self.present(field, required, problems)?;
        self.parsed(field, value, parse, problems)
    }

    fn moment(
        &self,
        field: &str,
        required: bool,
        problems: &mut Problems,
    ) -> Result<Option<NaiveDateTime>, ()> {
        let value = self.present(field, required, problems)?;
        self.parsed(
            field,
            value,
            |v| {
                self.dates
                    .parse(v)
                    .ok_or("not a date in a known format (expected YYYY-MM-DD)")
            },
            problems,
        )
    }

    fn date(
        &self,
        field: &str,
        required: bool,
        problems: &mut Problems,
    ) -> Result<Option<NaiveDate>, ()> {
        Ok(self.moment(field, required, problems)?.map(|m| m.date()))
    }

    fn money(
        &self,
        field: &str,
        required: bool,
        problems: &mut Problems,
    ) -> Result<Option<Money>, ()> {
        let value = self.present(field, required, problems)?;
        self.parsed(field, value, Money::parse_non_negative, problems)
    }

    /// The optional `margin` (may be negative) and `acv` cells.
    fn measures(&self, problems: &mut Problems) -> Option<DealMeasures> {
        let margin = self.text("margin");
        let margin = self.parsed("margin", margin, Money::parse, problems);
        let acv = self.money("acv", false, problems);
        Some(DealMeasures {
            margin: margin.ok()?,
            acv: acv.ok()?,
        })
    }

    /// The optional `currency` cell: an ISO 4217 code, upper-cased;
    /// `Some(None)` when empty, `None` (and a problem) when not a code.
    fn currency(&self, problems: &mut Problems) -> Option<Option<String>> {
        let Some(raw) = self.text("currency") else {
            return Some(None);
        };
        let code = raw.trim().to_ascii_uppercase();
        if iso_currency::Currency::from_code(&code).is_none() {
            problems.push(self.problem(
                "currency",
                Some(&raw),
                "not an ISO 4217 currency code (e.g. EUR, GBP, JPY)",
            ));
            return None;
        }
        Some(Some(code))
    }

    fn status(&self, problems: &mut Problems) -> Result<OpportunityStatus, ()> {
        if let Some((closed_col, won_col)) = self.source.flag_columns {
            let flag = |col: usize, name: &str, problems: &mut Problems| -> Result<bool, ()> {
                let raw = self.values[col].map(str::trim).unwrap_or("");
                parse_flag(raw).ok_or_else(|| {
                    problems.push(self.column_problem(name, raw, "expected true or false"));
                })
            };
            let flags = self.mapping.status_flags.as_ref().ok_or(())?;
            let closed = flag(closed_col, &flags.closed, problems);
            let won = flag(won_col, &flags.won, problems);
            return Ok(match (closed?, won?) {
                (true, true) => OpportunityStatus::Won,
                (true, false) => OpportunityStatus::Lost,
                (false, _) => OpportunityStatus::Open,
            });
        }
        let value = self.required("status", problems).ok_or(())?;
        value.parse().map_err(|_| {
            problems.push(self.problem("status", Some(&value), "expected open, won or lost"));
        })
    }
}

fn parse_flag(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "t" => Some(true),
        "false" | "0" | "no" | "n" | "f" => Some(false),
        _ => None,
    }
}

/// Collects a row's fields, reporting every bad one before giving up, so a
/// user sees all of a row's problems at once.
macro_rules! all_fields {
    ($($name:ident = $e:expr;)+) => {
        $(let $name = $e;)+
        let ($(Ok($name),)+) = ($($name,)+) else { return None };
    };
}

/// A territory row.
pub fn territory(row: &Row<'_>, problems: &mut Problems) -> Option<Territory> {
    all_fields! {
        territory_id = row.id("territory_id", true, TerritoryId::parse, problems);
        name = row.required("name", problems).ok_or(());
        region = row.required("region", problems).ok_or(());
    }
    Some(Territory {
        territory_id: territory_id?,
        name: name.into_owned(),
        region: region.into_owned(),
    })
}

/// A person row (rep, manager or leader).
pub fn rep(row: &Row<'_>, problems: &mut Problems) -> Option<Rep> {
    all_fields! {
        rep_id = row.id("rep_id", true, RepId::parse, problems);
        name = row.required("name", problems).ok_or(());
        manager_id = row.id("manager_id", false, RepId::parse, problems);
        territory_id = row.id("territory_id", false, TerritoryId::parse, problems);
        role = row.id("role", false, |v| v.parse::<RepRole>().map_err(|_| "expected rep, manager or leader"), problems);
        hire_date = row.date("hire_date", false, problems);
        end_date = row.date("end_date", false, problems);
    }
    if let (Some(hire), Some(end)) = (hire_date, end_date) {
        if end < hire {
            let shown = row.text("end_date");
            problems.push(row.problem(
                "end_date",
                shown.as_deref(),
                format!("end date is before the hire date {hire}"),
            ));
            return None;
        }
    }
    let rep_id = rep_id?;
    if row.mapping.add_managers
        && let (Some(m), Some(written)) = (&manager_id, row.raw("manager_id"))
        && let Ok(mut side) = row.source.side.lock()
    {
        side.manager_names
            .entry(m.as_str().to_owned())
            .or_insert_with(|| written.to_owned());
    }
    if manager_id.as_ref() == Some(&rep_id) {
        problems.push(row.problem(
            "manager_id",
            row.text("manager_id").as_deref(),
            "a person cannot be their own manager",
        ));
        return None;
    }
    Some(Rep {
        rep_id,
        name: name.into_owned(),
        manager_id,
        territory_id,
        role,
        hire_date,
        end_date,
        plan_id: row.text("plan_id").map(Cow::into_owned),
    })
}

/// An opportunity row.
pub fn opportunity(row: &Row<'_>, problems: &mut Problems) -> Option<Opportunity> {
    all_fields! {
        opportunity_id = row.id("opportunity_id", true, OpportunityId::parse, problems);
        rep_id = row.id("rep_id", true, RepId::parse, problems);
        amount = row.money("amount", false, problems);
        stage = row.required("stage", problems).ok_or(());
        status = row.status(problems);
        created_date = row.date("created_date", true, problems);
        close_date = row.date("close_date", false, problems);
    }
    let created_date = created_date?;
    if let Some(close) = close_date {
        if close < created_date {
            problems.push(row.problem(
                "close_date",
                row.text("close_date").as_deref(),
                format!("close date is before the created date {created_date}"),
            ));
            return None;
        }
    }
    if status.is_closed() && close_date.is_none() {
        problems.push(row.problem(
            "close_date",
            None,
            format!("a {status} deal needs a close date"),
        ));
        return None;
    }
    let (currency, measures) = (row.currency(problems), row.measures(problems));
    Some(Opportunity {
        opportunity_id: opportunity_id?,
        rep_id: rep_id?,
        account: row.text("account").map(Cow::into_owned),
        product: row.text("product").map(Cow::into_owned),
        amount,
        stage: stage.into_owned(),
        status,
        created_date,
        close_date,
        forecast_category: row.text("forecast_category").map(Cow::into_owned),
        currency: currency?,
        measures: measures?,
    })
}

/// The snapshots a deal's own dates tell (see
/// [`HistoryFromDates`](super::mapping::HistoryFromDates)): open at its
/// first stage on its created day, each dated stage on its day, the current
/// stage on the day it was reached, won or lost on the close date. Several
/// on one day keep the latest step. An open deal's snapshots carry its
/// expected close date; a closed deal's earlier ones carry none (what was
/// expected then is not in the export).
///
/// A deal the mapping's field-change log covers is replayed from it
/// instead (the flag says so).
pub fn derived_history(
    row: &Row<'_>,
    deal: &Opportunity,
    how: &super::mapping::HistoryFromDates,
    problems: &mut Problems,
) -> (Vec<HistoryRecord>, bool) {
    let logged = how
        .field_history
        .as_ref()
        .zip(row.source.field_changes.as_ref())
        .and_then(|(fh, log)| Some((fh, log.of(deal.opportunity_id.as_str())?)));
    if let Some((fh, changes)) = logged {
        return (super::field_history::replay(deal, changes, fh), true);
    }
    (history_from_dates(row, deal, how, problems), false)
}

fn history_from_dates(
    row: &Row<'_>,
    deal: &Opportunity,
    how: &super::mapping::HistoryFromDates,
    problems: &mut Problems,
) -> Vec<HistoryRecord> {
    let open = deal.status == OpportunityStatus::Open;
    let mut dated: Vec<(NaiveDate, String)> = Vec::new();
    for (stage, column) in &how.stage_dates {
        if let Some(day) = row.extra_date(column, problems) {
            dated.push((day, stage.clone()));
        }
    }
    dated.sort();
    let first_stage = how.first_stage.clone().unwrap_or_else(|| {
        if open {
            deal.stage.clone()
        } else {
            dated
                .first()
                .map_or_else(|| "Open".to_owned(), |(_, s)| s.clone())
        }
    });
    let until = deal.close_date.filter(|_| !open);
    let mut steps: Vec<(NaiveDate, String, OpportunityStatus)> =
        vec![(deal.created_date, first_stage, OpportunityStatus::Open)];
    steps.extend(
        dated
            .into_iter()
            .filter(|(d, _)| *d >= deal.created_date && until.is_none_or(|c| *d < c))
            .map(|(d, s)| (d, s, OpportunityStatus::Open)),
    );
    if let Some(column) = &how.current_stage_date
        && open
        && let Some(day) = row.extra_date(column, problems)
        && day >= deal.created_date
    {
        steps.push((day, deal.stage.clone(), OpportunityStatus::Open));
    }
    if let Some(close) = until {
        steps.push((close, deal.stage.clone(), deal.status));
    }
    // Stable: on one day the later step wins.
    steps.sort_by_key(|(d, _, _)| *d);
    let mut out: Vec<HistoryRecord> = Vec::with_capacity(steps.len());
    for (day, stage, status) in steps {
        let record = HistoryRecord {
            opportunity_id: deal.opportunity_id.clone(),
            as_of: day,
            stage,
            status,
            amount: deal.amount,
            close_date: if open || status.is_closed() {
                deal.close_date
            } else {
                None
            },
            forecast_category: None,
        };
        match out.last_mut() {
            Some(last) if last.as_of == day => *last = record,
            _ => out.push(record),
        }
    }
    out
}

/// A history row, with the exact moment it was recorded (for ordering
/// several rows of one day).
pub fn history(row: &Row<'_>, problems: &mut Problems) -> Option<(HistoryRecord, NaiveDateTime)> {
    all_fields! {
        opportunity_id = row.id("opportunity_id", true, OpportunityId::parse, problems);
        as_of = row.moment("as_of", true, problems);
        stage = row.required("stage", problems).ok_or(());
        status = row.status(problems);
        amount = row.money("amount", false, problems);
        close_date = row.date("close_date", false, problems);
    }
    let forecast_category = row.text("forecast_category").map(Cow::into_owned);
    let moment = as_of?;
    Some((
        HistoryRecord {
            opportunity_id: opportunity_id?,
            as_of: moment.date(),
            stage: stage.into_owned(),
            status,
            amount,
            close_date,
            forecast_category,
        },
        moment,
    ))
}

/// A booking row.
pub fn booking(row: &Row<'_>, problems: &mut Problems) -> Option<Booking> {
    all_fields! {
        booking_id = row.id("booking_id", true, BookingId::parse, problems);
        rep_id = row.id("rep_id", true, RepId::parse, problems);
        amount = row.money("amount", true, problems);
        booked_date = row.date("booked_date", true, problems);
        opportunity_id = row.id("opportunity_id", false, OpportunityId::parse, problems);
        territory_id = row.id("territory_id", false, TerritoryId::parse, problems);
    }
    let (currency, measures) = (row.currency(problems), row.measures(problems));
    Some(Booking {
        booking_id: booking_id?,
        rep_id: rep_id?,
        amount: amount?,
        booked_date: booked_date?,
        opportunity_id,
        territory_id,
        currency: currency?,
        measures: measures?,
    })
}

/// A quota row.
pub fn quota(row: &Row<'_>, problems: &mut Problems) -> Option<Quota> {
    all_fields! {
        rep_id = row.id("rep_id", true, RepId::parse, problems);
        period = row.id("period", true, Period::parse, problems);
        amount = row.money("amount", true, problems);
    }
    Some(Quota {
        rep_id: rep_id?,
        period: period?,
        amount: amount?,
        currency: row.currency(problems)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_export_forms() {
        let p = DateParser::new(super::super::mapping::DEFAULT_DATE_FORMATS);
        let day = |s: &str| p.parse(s).map(|m| m.date().to_string());
        assert_eq!(day("2024-03-15").as_deref(), Some("2024-03-15"));
        assert_eq!(
            day("2024-03-15T23:10:00.000+0000").as_deref(),
            Some("2024-03-15")
        );
        assert_eq!(day("2024-03-15T23:10:00Z").as_deref(), Some("2024-03-15"));
        assert_eq!(
            day("2024-03-15 23:10:00.000000").as_deref(),
            Some("2024-03-15")
        );
        // 23:30 in New York is already the next day in UTC.
        assert_eq!(
            day("2024-03-15T23:30:00-0400").as_deref(),
            Some("2024-03-16")
        );
        assert_eq!(day("15/03/2024"), None);
        assert_eq!(day("2024-02-30"), None);
        let us = DateParser::new(&["%m/%d/%Y", "%m/%d/%Y %I:%M %p"]);
        assert_eq!(
            us.parse("3/5/2024")
                .map(|m| m.date().to_string())
                .as_deref(),
            Some("2024-03-05")
        );
        assert_eq!(
            us.parse("3/5/2024 4:07 PM")
                .map(|m| m.to_string())
                .as_deref(),
            Some("2024-03-05 16:07:00")
        );
    }

    #[test]
    fn flags() {
        assert_eq!(parse_flag("TRUE"), Some(true));
        assert_eq!(parse_flag("0"), Some(false));
        assert_eq!(parse_flag("maybe"), None);
    }
}
