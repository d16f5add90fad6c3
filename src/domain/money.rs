//! Money: an exact decimal amount in the organisation's one currency.

use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// Why a text was not accepted as an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not a decimal number (letters, two decimal points, empty, ...).
    #[error("not a decimal number")]
    NotANumber,
    /// Below zero where only zero or more makes sense.
    #[error("must not be negative")]
    Negative,
    /// Too large to hold as integer cents.
    #[error("too large")]
    TooLarge,
}

/// An amount of money, exact to the cent.
///
/// Held as a [`Decimal`] rounded half-even to two decimals, so arithmetic is
/// exact and `0.1 + 0.2 == 0.3`. Stored as integer cents ([`Money::cents`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, utoipa::ToSchema)]
pub struct Money(Decimal);

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Parses a non-negative amount such as `1234.5` or `1234.56`.
    ///
    /// A leading `+`, surrounding white space and `_`/`,` thousands separators
    /// are accepted (spreadsheet exports write `1,234.50`); more than two
    /// decimals are rounded half-even to the cent, as currency conversions in
    /// CRM exports often carry them.
    ///
    /// ```
    /// use attain::domain::{Money, MoneyError};
    /// assert_eq!(Money::parse_non_negative("1,234.5").unwrap().to_string(), "1234.50");
    /// assert_eq!(Money::parse_non_negative("0.125").unwrap().cents(), 12);
    /// assert_eq!(Money::parse_non_negative("-5"), Err(MoneyError::Negative));
    /// ```
    pub fn parse_non_negative(raw: &str) -> Result<Money, MoneyError> {
        let money = Self::parse(raw)?;
        if money.0.is_sign_negative() && !money.0.is_zero() {
            return Err(MoneyError::Negative);
        }
        Ok(money)
    }

    /// Parses a possibly negative amount (a credit note, a clawback).
    pub fn parse(raw: &str) -> Result<Money, MoneyError> {
        if let Some(cents) = plain_cents(raw.trim()) {
            return Ok(Money::from_cents(cents));
        }
        let cleaned: String = raw
            .trim()
            .chars()
            .filter(|c| *c != ',' && *c != '_')
            .collect();
        let cleaned = cleaned.strip_prefix('+').unwrap_or(&cleaned);
        if cleaned.is_empty() {
            return Err(MoneyError::NotANumber);
        }
        let value = Decimal::from_str(cleaned)
            .or_else(|_| Decimal::from_scientific(cleaned))
            .map_err(|_| MoneyError::NotANumber)?;
        let money = Money::from_decimal(value);
        money.cents_checked().ok_or(MoneyError::TooLarge)?;
        Ok(money)
    }

    /// Rounds a decimal half-even to the cent.
    pub fn from_decimal(value: Decimal) -> Money {
        Money(value.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven))
    }

    /// An amount from integer cents (the storage form).
    pub fn from_cents(cents: i64) -> Money {
        Money(Decimal::new(cents, 2))
    }

    /// The amount as a decimal.
    pub fn amount(self) -> Decimal {
        self.0
    }

    /// The amount in integer cents. Every `Money` built by this module fits,
    /// so this cannot fail for values that came through `parse`.
    pub fn cents(self) -> i64 {
        self.cents_checked().unwrap_or(i64::MAX)
    }

    fn cents_checked(self) -> Option<i64> {
        (self.0 * Decimal::ONE_HUNDRED).to_i64()
    }
}

/// Fast path for the common form `123` or `123.4` or `123.45` (up to 15
/// integer digits): integer cents without building a `Decimal` from text.
fn plain_cents(raw: &str) -> Option<i64> {
    let (whole, fraction) = match raw.split_once('.') {
        Some((w, f)) => (w, f),
        None => (raw, ""),
    };
    if whole.is_empty() || whole.len() > 15 || fraction.len() > 2 {
        return None;
    }
    let number = |s: &str| -> Option<i64> {
        s.bytes().try_fold(0i64, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let fraction_cents = match fraction.len() {
        0 => 0,
        1 => number(fraction)? * 10,
        _ => number(fraction)?,
    };
    Some(number(whole)? * 100 + fraction_cents)
}

impl fmt::Display for Money {
    /// Always two decimals: `1234.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl std::ops::AddAssign<Money> for Decimal {
    /// Adds money to a running decimal total (statement lines, sums).
    fn add_assign(&mut self, money: Money) {
        *self += money.0;
    }
}

impl serde::Serialize for Money {
    /// JSON money is a decimal string with two decimals.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    /// Reads a decimal string (`"1234.50"`) or a JSON number, rounded
    /// half-even to the cent.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        let value = rust_decimal::serde::str::deserialize(d)?;
        Ok(Money::from_decimal(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_plain_and_exported_forms() {
        assert_eq!(Money::parse("1234.5").unwrap().cents(), 123_450);
        assert_eq!(Money::parse(" 1,234.56 ").unwrap().cents(), 123_456);
        assert_eq!(Money::parse("+10").unwrap().to_string(), "10.00");
        assert_eq!(Money::parse("1.5E3").unwrap().cents(), 150_000);
        assert_eq!(Money::parse("-3").unwrap().cents(), -300);
        assert_eq!(Money::parse("7.5").unwrap().cents(), 750);
        assert_eq!(Money::parse("007.05").unwrap().cents(), 705);
        assert_eq!(Money::parse("12.").unwrap().cents(), 1200);
    }

    #[test]
    fn rounds_half_even_to_the_cent() {
        assert_eq!(Money::parse("0.125").unwrap().cents(), 12);
        assert_eq!(Money::parse("0.135").unwrap().cents(), 14);
    }

    #[test]
    fn rejects_garbage_and_negatives() {
        assert_eq!(Money::parse("12a"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse(""), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("1.2.3"), Err(MoneyError::NotANumber));
        assert_eq!(
            Money::parse_non_negative("-0.01"),
            Err(MoneyError::Negative)
        );
        assert!(Money::parse_non_negative("-0").is_ok());
    }

    proptest! {
        #[test]
        fn cents_round_trip(cents in -1_000_000_000_000i64..1_000_000_000_000i64) {
            let money = Money::from_cents(cents);
            prop_assert_eq!(money.cents(), cents);
            prop_assert_eq!(Money::parse(&money.to_string()).unwrap(), money);
        }
    }
}
