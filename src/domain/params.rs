//! Run settings that are valid by construction: a forecast horizon, a
//! number of sample paths, a number of backtest origins. The CLI and the
//! API parse raw numbers into these once, at the edge; the engine takes
//! them and never checks a range again.

use std::fmt;

/// The seed every command and route uses unless told otherwise.
pub const DEFAULT_SEED: u64 = 7;

/// A run setting outside its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value} is not in {min}..{max}")]
pub struct ParamError {
    /// The setting's name as the user writes it (`horizon`, `paths`, ...).
    pub field: &'static str,
    /// The value given.
    pub value: usize,
    /// Smallest value allowed.
    pub min: usize,
    /// Largest value allowed.
    pub max: usize,
}

macro_rules! bounded {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:literal ..= $max:literal, default $default:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(usize);

        impl $name {
            /// Smallest value allowed.
            pub const MIN: usize = $min;
            /// Largest value allowed.
            pub const MAX: usize = $max;
            /// The value used when none is given.
            pub const DEFAULT: $name = $name($default);

            /// Accepts `value` when it lies in the range.
            pub fn new(value: usize) -> Result<Self, ParamError> {
                if (Self::MIN..=Self::MAX).contains(&value) {
                    Ok(Self(value))
                } else {
                    Err(ParamError {
                        field: $field,
                        value,
                        min: Self::MIN,
                        max: Self::MAX,
                    })
                }
            }

            /// The number.
            pub fn get(self) -> usize {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::DEFAULT
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

bounded!(
    /// Months forecast or backtested ahead (1..=24).
    Horizon, "horizon", 1..=24, default 12
);
bounded!(
    /// Sample paths of a forecast (10..=100,000).
    Paths, "paths", 10..=100_000, default 1000
);
bounded!(
    /// Walk-forward origins of a backtest (1..=120).
    Origins, "origins", 1..=120, default 18
);
bounded!(
    /// Sample paths per backtest origin (10..=10,000).
    BacktestPaths, "backtest_paths", 10..=10_000, default 100
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_accepted_only_in_range() {
        assert_eq!(Horizon::new(24).map(Horizon::get), Ok(24));
        let err = Horizon::new(25).expect_err("25 months is too far");
        assert_eq!(err.field, "horizon");
        assert_eq!(err.to_string(), "25 is not in 1..24");
        assert!(Paths::new(9).is_err());
        assert!(Paths::new(100_000).is_ok());
        assert!(Origins::new(0).is_err());
        assert!(BacktestPaths::new(10_001).is_err());
        assert_eq!(Horizon::default().get(), 12);
    }
}
