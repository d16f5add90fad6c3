//! The exchange rates step of a call: `fx_rates.csv` (date, currency,
//! rate: units of the organisation's currency per unit of `currency`, from
//! that date on), checked row by row and stored in the call's transaction;
//! then every row of the call in another currency must find a rate in
//! force on its day, or nothing is stored.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::calls::each_row;
use super::known::Known;
use super::{IngestError, Problem, Problems, TableSummary};
use crate::store::{FxRate, StoreTx};

const REQUIRED: [&str; 3] = ["date", "currency", "rate"];

/// Whether a file is an exchange rates file (by its name).
pub(super) fn is_fx_file(stem: &str) -> bool {
    stem.eq_ignore_ascii_case("fx_rates")
}

/// Reads every rates file, reporting each problem with its row and column;
/// stores the rates when there is none. `None` when no rates file was given
/// or a problem was found.
pub(super) async fn rates(
    tx: &mut StoreTx,
    files: &[PathBuf],
    known: &Known,
    problems: &mut Problems,
) -> Result<Option<TableSummary>, IngestError> {
    if files.is_empty() {
        return Ok(None);
    }
    let mut rows: Vec<FxRate> = Vec::new();
    // (currency, day) -> (rate, file, row) of the first row naming it.
    let mut seen: HashMap<(String, NaiveDate), (Decimal, String, usize)> = HashMap::new();
    for path in files {
        each_row(
            path,
            ("an exchange rates file", &REQUIRED, &[]),
            problems,
            |row, problems| {
                let cell = |c: &str| row.cell(c);
                let mut bad = |column: &str, message: String| row.bad(problems, column, message);
                let day = NaiveDate::parse_from_str(cell("date"), "%Y-%m-%d").ok();
                if day.is_none() {
                    bad("date", "not a day (YYYY-MM-DD)".into());
                }
                let code = cell("currency").to_ascii_uppercase();
                let currency = if iso_currency::Currency::from_code(&code).is_none() {
                    bad(
                        "currency",
                        "not an ISO 4217 currency code (e.g. EUR, GBP, JPY)".into(),
                    );
                    None
                } else if code == known.currency {
                    bad(
                        "currency",
                        format!("{code} is the organisation's currency: its rate is 1"),
                    );
                    None
                } else {
                    Some(code)
                };
                let rate = match cell("rate").replace([',', '_'], "").parse::<Decimal>() {
                    Ok(r) if r > Decimal::ZERO => Some(r),
                    Ok(_) => {
                        bad("rate", "a rate must be above zero".into());
                        None
                    }
                    Err(_) => {
                        bad("rate", "not a number such as 1.0842".into());
                        None
                    }
                };
                let (Some(day), Some(currency), Some(rate)) = (day, currency, rate) else {
                    return;
                };
                match seen.get(&(currency.clone(), day)) {
                    Some((first, file, row)) if *first != rate => bad(
                        "rate",
                        format!(
                            "{currency} on {day} already has the rate {first} ({file}, row {row})"
                        ),
                    ),
                    Some(_) => {}
                    None => {
                        seen.insert(
                            (currency.clone(), day),
                            (rate, row.file().to_owned(), row.row()),
                        );
                        rows.push(FxRate {
                            currency,
                            from: day,
                            rate,
                        });
                    }
                }
            },
        );
    }
    if problems.any() {
        return Ok(None);
    }
    let mut summary = TableSummary::default();
    for rate in &rows {
        summary.count(tx.upsert_fx_rate(rate).await?);
    }
    Ok(Some(summary))
}

/// Every currency a row of this call names must have a rate in force on
/// the earliest day a row needs it (stored rates and this call's count).
pub(super) async fn check_needs(
    tx: &mut StoreTx,
    known: &Known,
    problems: &mut Problems,
) -> Result<(), IngestError> {
    if known.currency_needs.is_empty() || problems.any() {
        return Ok(());
    }
    let mut first: HashMap<String, NaiveDate> = HashMap::new();
    for r in tx.fx_rates().await? {
        first.entry(r.currency).or_insert(r.from);
    }
    let mut needs: Vec<_> = known.currency_needs.iter().collect();
    needs.sort_by(|a, b| a.0.cmp(b.0));
    for (code, (day, problem)) in needs {
        let message = match first.get(code) {
            Some(from) if from <= day => continue,
            Some(from) => format!(
                "no {code} rate on {day}: fx_rates.csv starts {code} on {from}; add a rate dated on or before {day}"
            ),
            None => format!(
                "no {code} rate on {day}: add {code} rates to fx_rates.csv (date, currency, rate) from {day} or earlier"
            ),
        };
        problems.push(Problem {
            message,
            ..problem.clone()
        });
    }
    Ok(())
}
