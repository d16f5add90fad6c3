//! Dated exchange rates: units of the organisation's currency per unit of
//! another, from a day on.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::cols::{Cols, FromCols};
use super::{Store, StoreError, StoreTx};

const LIST: &str = "SELECT currency, from_date, rate FROM fx_rates ORDER BY currency, from_date";

/// One rate, in force from `from` until the currency's next rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FxRate {
    /// ISO 4217 code.
    pub currency: String,
    /// First day in force.
    pub from: NaiveDate,
    /// Units of the organisation's currency per unit of `currency`.
    pub rate: Decimal,
}

impl StoreTx {
    /// Stores a rate (replacing the currency's rate from the same day);
    /// true when something changed.
    pub async fn upsert_fx_rate(&mut self, rate: &FxRate) -> Result<bool, StoreError> {
        let sql = "INSERT INTO fx_rates (currency, from_date, rate) VALUES ($1, $2, $3) \
                   ON CONFLICT (currency, from_date) DO UPDATE SET rate = excluded.rate \
                   WHERE fx_rates.rate <> excluded.rate";
        let text = rate.rate.normalize().to_string();
        let params = [
            rate.currency.as_str().into(),
            rate.from.into(),
            text.as_str().into(),
        ];
        Ok(self.execute(sql, &params).await? > 0)
    }

    /// Every stored rate (those written in this transaction included).
    pub async fn fx_rates(&mut self) -> Result<Vec<FxRate>, StoreError> {
        self.rows(LIST, &[]).await
    }
}

impl Store {
    /// Every stored rate, by currency and day.
    pub async fn fx_rates(&self) -> Result<Vec<FxRate>, StoreError> {
        self.rows(LIST, &[]).await
    }
}

impl FromCols for FxRate {
    fn from_cols(row: &impl Cols) -> Result<FxRate, StoreError> {
        let currency: String = row.col(0)?;
        let from = row.day(1)?;
        let rate: String = row.col(2)?;
        let rate = rate.parse::<Decimal>().map_err(|_| {
            StoreError::Corrupt(format!("fx rate {rate:?} of {currency} on {from}"))
        })?;
        Ok(FxRate {
            currency,
            from,
            rate,
        })
    }
}
