//! Reporting periods: calendar months and fiscal quarters.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// Why a text was not accepted as a period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// Neither `YYYY-MM` nor `YYYY-Qn`.
    #[error("expected YYYY-MM (month) or YYYY-Qn (quarter)")]
    Format,
    /// A month outside 1..=12, a quarter outside 1..=4, or a year outside 1900..=2999.
    #[error("month, quarter or year out of range")]
    Range,
}

/// The fiscal calendar: which calendar month a fiscal year starts in.
///
/// A fiscal year that does not start in January is named after the calendar
/// year it **ends** in (a year starting February 2024 is FY2025), the
/// convention of most companies with an offset fiscal year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiscalCalendar {
    first_month: u32,
}

impl Default for FiscalCalendar {
    fn default() -> Self {
        FiscalCalendar { first_month: 1 }
    }
}

impl FiscalCalendar {
    /// A calendar whose fiscal year starts in `first_month` (1 = January).
    pub fn new(first_month: u32) -> Result<Self, PeriodError> {
        if (1..=12).contains(&first_month) {
            Ok(FiscalCalendar { first_month })
        } else {
            Err(PeriodError::Range)
        }
    }

    /// The first calendar month of the fiscal year.
    pub fn first_month(self) -> u32 {
        self.first_month
    }

    /// The fiscal quarter a date falls in.
    pub fn quarter_of(self, date: NaiveDate) -> Period {
        let months_into_year = (date.month() + 12 - self.first_month) % 12;
        let quarter = months_into_year / 3 + 1;
        // The fiscal year starts in the calendar year of its first month when
        // that month is January; otherwise it is named after the year it ends in.
        let start_year = if date.month() >= self.first_month {
            date.year()
        } else {
            date.year() - 1
        };
        let fiscal_year = if self.first_month == 1 {
            start_year
        } else {
            start_year + 1
        };
        Period::Quarter {
            fiscal_year,
            quarter,
        }
    }

    /// First day of a period.
    pub fn start(self, period: Period) -> NaiveDate {
        match period {
            Period::Month { year, month } => first_of(year, month),
            Period::Quarter {
                fiscal_year,
                quarter,
            } => {
                let start_year = if self.first_month == 1 {
                    fiscal_year
                } else {
                    fiscal_year - 1
                };
                let offset = self.first_month - 1 + (quarter - 1) * 3;
                first_of(start_year + (offset / 12) as i32, offset % 12 + 1)
            }
        }
    }

    /// Last day of a period.
    pub fn end(self, period: Period) -> NaiveDate {
        let months = match period {
            Period::Month { .. } => 1,
            Period::Quarter { .. } => 3,
        };
        let start = self.start(period);
        let next = start
            .checked_add_months(chrono::Months::new(months))
            .unwrap_or(start);
        next.pred_opt().unwrap_or(start)
    }

    /// Whether a date lies in a period.
    pub fn contains(self, period: Period, date: NaiveDate) -> bool {
        self.start(period) <= date && date <= self.end(period)
    }
}

fn first_of(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN)
}

/// A calendar month (`2024-03`) or a fiscal quarter (`2024-Q1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// A calendar month.
    Month {
        /// Calendar year.
        year: i32,
        /// Month, 1..=12.
        month: u32,
    },
    /// A quarter of a fiscal year (see [`FiscalCalendar`]).
    Quarter {
        /// Fiscal year, named after the calendar year it ends in.
        fiscal_year: i32,
        /// Quarter, 1..=4.
        quarter: u32,
    },
}

impl Period {
    /// Parses `YYYY-MM` or `YYYY-Qn` (the `Q` in either case).
    ///
    /// ```
    /// use attain::domain::{FiscalCalendar, Period};
    /// let q = Period::parse("2025-q1").unwrap();
    /// assert_eq!(q.to_string(), "2025-Q1");
    /// // With a fiscal year starting in February, FY2025 Q1 is Feb-Apr 2024.
    /// let fiscal = FiscalCalendar::new(2).unwrap();
    /// assert_eq!(fiscal.start(q).to_string(), "2024-02-01");
    /// assert_eq!(fiscal.end(q).to_string(), "2024-04-30");
    /// ```
    pub fn parse(raw: &str) -> Result<Period, PeriodError> {
        let raw = raw.trim();
        let (year, rest) = raw.split_once('-').ok_or(PeriodError::Format)?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PeriodError::Format);
        }
        let year: i32 = year.parse().map_err(|_| PeriodError::Format)?;
        if !(1900..=2999).contains(&year) {
            return Err(PeriodError::Range);
        }
        if let Some(q) = rest.strip_prefix(['Q', 'q']) {
            let quarter: u32 = q.parse().map_err(|_| PeriodError::Format)?;
            if q.len() != 1 || !(1..=4).contains(&quarter) {
                return Err(PeriodError::Range);
            }
            return Ok(Period::Quarter {
                fiscal_year: year,
                quarter,
            });
        }
        if rest.len() != 2 || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PeriodError::Format);
        }
        let month: u32 = rest.parse().map_err(|_| PeriodError::Format)?;
        if !(1..=12).contains(&month) {
            return Err(PeriodError::Range);
        }
        Ok(Period::Month { year, month })
    }

    /// The calendar month a date falls in.
    pub fn month_of(date: NaiveDate) -> Period {
        Period::Month {
            year: date.year(),
            month: date.month(),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Period::Quarter {
                fiscal_year,
                quarter,
            } => write!(f, "{fiscal_year:04}-Q{quarter}"),
        }
    }
}

impl serde::Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn parses_and_prints_periods() {
        assert_eq!(Period::parse("2024-03").unwrap().to_string(), "2024-03");
        assert_eq!(Period::parse("2024-q2").unwrap().to_string(), "2024-Q2");
        assert_eq!(Period::parse("2024-13"), Err(PeriodError::Range));
        assert_eq!(Period::parse("2024-Q5"), Err(PeriodError::Range));
        assert_eq!(Period::parse("24-01"), Err(PeriodError::Format));
        assert_eq!(Period::parse("2024/01"), Err(PeriodError::Format));
    }

    #[test]
    fn calendar_quarters() {
        let cal = FiscalCalendar::default();
        let q = cal.quarter_of(d(2024, 5, 17));
        assert_eq!(q.to_string(), "2024-Q2");
        assert_eq!(cal.start(q), d(2024, 4, 1));
        assert_eq!(cal.end(q), d(2024, 6, 30));
    }

    #[test]
    fn offset_fiscal_year_is_named_by_its_end() {
        let cal = FiscalCalendar::new(2).unwrap();
        // February 2024 opens FY2025.
        let q = cal.quarter_of(d(2024, 2, 1));
        assert_eq!(q.to_string(), "2025-Q1");
        assert_eq!(cal.start(q), d(2024, 2, 1));
        assert_eq!(cal.end(q), d(2024, 4, 30));
        // January 2025 closes FY2025.
        let q4 = cal.quarter_of(d(2025, 1, 31));
        assert_eq!(q4.to_string(), "2025-Q4");
        assert_eq!(cal.start(q4), d(2024, 11, 1));
        assert_eq!(cal.end(q4), d(2025, 1, 31));
        assert!(cal.contains(q4, d(2024, 12, 31)));
    }

    #[test]
    fn every_day_lies_in_its_quarter() {
        for first in 1..=12 {
            let cal = FiscalCalendar::new(first).unwrap();
            let mut day = d(2023, 1, 1);
            while day < d(2025, 1, 1) {
                let q = cal.quarter_of(day);
                assert!(
                    cal.contains(q, day),
                    "{day} not in {q} (first month {first})"
                );
                day = day.succ_opt().unwrap();
            }
        }
    }
}
