//! Dated exchange rates: units of the organisation's currency per unit of
//! another, from a day on.

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use rust_decimal::Decimal;
use sqlx::Row;

use super::{Store, StoreError, StoreTx, on_backend};

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
        let changed;
        on_backend!(self, StoreTx, |conn, Db| {
            changed = sqlx::query::<Db>(sql)
                .bind(rate.currency.as_str())
                .bind(rate.from)
                .bind(rate.rate.normalize().to_string())
                .execute(&mut **conn)
                .await?
                .rows_affected();
        });
        Ok(changed > 0)
    }

    /// Every stored rate (those written in this transaction included).
    pub async fn fx_rates(&mut self) -> Result<Vec<FxRate>, StoreError> {
        let sql = "SELECT currency, from_date, rate FROM fx_rates ORDER BY currency, from_date";
        let mut out = Vec::new();
        on_backend!(self, StoreTx, |conn, Db| {
            let mut rows = sqlx::query::<Db>(sql).fetch(&mut **conn);
            while let Some(row) = rows.try_next().await? {
                out.push(read(
                    row.try_get(0)?,
                    row.try_get(1)?,
                    row.try_get::<String, _>(2)?,
                )?);
            }
        });
        Ok(out)
    }
}

impl Store {
    /// Every stored rate, by currency and day.
    pub async fn fx_rates(&self) -> Result<Vec<FxRate>, StoreError> {
        let sql = "SELECT currency, from_date, rate FROM fx_rates ORDER BY currency, from_date";
        let mut out = Vec::new();
        on_backend!(self, Store, |pool, Db| {
            let mut rows = sqlx::query::<Db>(sql).fetch(pool);
            while let Some(row) = rows.try_next().await? {
                out.push(read(
                    row.try_get(0)?,
                    row.try_get(1)?,
                    row.try_get::<String, _>(2)?,
                )?);
            }
        });
        Ok(out)
    }
}

fn read(currency: String, from: NaiveDate, rate: String) -> Result<FxRate, StoreError> {
    let rate = rate
        .parse::<Decimal>()
        .map_err(|_| StoreError::Corrupt(format!("fx rate {rate:?} of {currency} on {from}")))?;
    Ok(FxRate {
        currency,
        from,
        rate,
    })
}
