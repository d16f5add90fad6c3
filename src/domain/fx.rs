//! Dated exchange rates into the organisation's currency, and exact
//! conversion with them.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};

/// A rate that is needed and not there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no {currency} rate on {day}: ingest fx_rates.csv with a {currency} rate dated on or before {day}"
)]
pub struct MissingRate {
    /// The currency.
    pub currency: String,
    /// The day.
    pub day: NaiveDate,
}

/// Units of the organisation's currency per unit of each other currency,
/// from a day on (until the currency's next rate).
#[derive(Debug, Clone, Default)]
pub struct Rates {
    by: HashMap<Arc<str>, Vec<(NaiveDate, Decimal)>>,
    /// The organisation's currency, when known (it names conversions).
    org: Option<Arc<str>>,
}

impl Rates {
    /// Rates from `(currency, first day, rate)` rows, in any order.
    pub fn new(rows: impl IntoIterator<Item = (String, NaiveDate, Decimal)>) -> Rates {
        let mut by: HashMap<Arc<str>, Vec<(NaiveDate, Decimal)>> = HashMap::new();
        for (currency, day, rate) in rows {
            by.entry(Arc::from(currency)).or_default().push((day, rate));
        }
        for v in by.values_mut() {
            v.sort_by_key(|r| r.0);
        }
        Rates { by, org: None }
    }

    /// Names the organisation's currency.
    pub fn set_org(&mut self, code: &str) {
        self.org = Some(Arc::from(code));
    }

    /// The organisation's currency code, or `""` when not known.
    pub fn org(&self) -> &str {
        self.org.as_deref().unwrap_or("")
    }

    /// Whether no rate is stored.
    pub fn is_empty(&self) -> bool {
        self.by.is_empty()
    }

    /// The shared name of a currency that has rates.
    pub fn code(&self, currency: &str) -> Option<Arc<str>> {
        self.by.get_key_value(currency).map(|(k, _)| k.clone())
    }

    /// The rate of `currency` on `day`; `None` stands for the
    /// organisation's own currency (rate 1).
    pub fn rate(&self, currency: Option<&str>, day: NaiveDate) -> Result<Decimal, MissingRate> {
        let Some(code) = currency else {
            return Ok(Decimal::ONE);
        };
        let missing = || MissingRate {
            currency: code.to_owned(),
            day,
        };
        let list = self.by.get(code).ok_or_else(missing)?;
        let i = list.partition_point(|r| r.0 <= day);
        (i > 0).then(|| list[i - 1].1).ok_or_else(missing)
    }

    /// `cents` of `currency` in cents of the organisation's currency on
    /// `day`, rounded half-even.
    pub fn to_org_cents(
        &self,
        cents: i64,
        currency: Option<&str>,
        day: NaiveDate,
    ) -> Result<i64, MissingRate> {
        if currency.is_none() {
            return Ok(cents);
        }
        let rate = self.rate(currency, day)?;
        let value = (Decimal::from(cents) * rate)
            .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
        Ok(i64::try_from(value).unwrap_or(i64::MAX))
    }

    /// How many units of `to` one unit of `from` is worth on `day` (`None`:
    /// the organisation's currency), exact.
    pub fn cross(
        &self,
        from: Option<&str>,
        to: Option<&str>,
        day: NaiveDate,
    ) -> Result<Decimal, MissingRate> {
        if from == to {
            return Ok(Decimal::ONE);
        }
        Ok(self.rate(from, day)? / self.rate(to, day)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_rate_holds_from_its_day_until_the_next() {
        let rates = Rates::new([
            ("EUR".into(), day("2025-02-01"), Decimal::new(110, 2)),
            ("EUR".into(), day("2025-01-01"), Decimal::new(108, 2)),
        ]);
        assert_eq!(
            rates.rate(Some("EUR"), day("2025-01-31")),
            Ok(Decimal::new(108, 2))
        );
        assert_eq!(
            rates.rate(Some("EUR"), day("2025-02-01")),
            Ok(Decimal::new(110, 2))
        );
        assert_eq!(rates.rate(None, day("1999-01-01")), Ok(Decimal::ONE));
        let missing = rates.rate(Some("EUR"), day("2024-12-31")).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "no EUR rate on 2024-12-31: ingest fx_rates.csv with a EUR rate dated on or before 2024-12-31"
        );
        assert!(rates.rate(Some("GBP"), day("2025-03-01")).is_err());
        // 1,000.05 EUR at 1.08 = 1,080.054 -> 1,080.05 (half-even).
        assert_eq!(
            rates.to_org_cents(100_005, Some("EUR"), day("2025-01-02")),
            Ok(108_005)
        );
        assert_eq!(
            rates.cross(Some("EUR"), Some("EUR"), day("2020-01-01")),
            Ok(Decimal::ONE)
        );
    }
}
