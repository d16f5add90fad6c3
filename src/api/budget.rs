//! Work bounded per request: how many sample paths a role may ask for, and
//! how much memory the paths of one request may take (reps x paths x
//! months of 4-byte values), both checked before any work starts.

use super::auth::Role;
use super::error::{ApiError, InputError};

/// Most sample paths a token other than an admin's may ask for.
pub const SCOPED_MAX_PATHS: usize = 5_000;

/// Bytes of sample paths one admin request may hold.
pub const ADMIN_BUDGET: u64 = 2 << 30;

/// Bytes of sample paths one request of any other role may hold.
pub const OTHER_BUDGET: u64 = 256 << 20;

/// [`check`] for a simulation of every rep's paths for each month from
/// `as_of` to the end of `period` (default: the quarter of `as_of`).
pub fn check_until(
    role: Role,
    data: &crate::features::SalesData,
    as_of: chrono::NaiveDate,
    period: Option<crate::domain::Period>,
    paths: usize,
) -> Result<(), ApiError> {
    let fiscal = data.fiscal;
    let until = fiscal.end(period.unwrap_or_else(|| fiscal.quarter_of(as_of)));
    let months = crate::features::month_idx(until) - crate::features::month_idx(as_of) + 1;
    check(role, data.reps.len(), paths, months.max(1) as usize)
}

/// 422 unless `paths` is within the role's limit and `reps` x `paths` x
/// `months` values fit the role's memory budget. The answer names the
/// limit, the budget and what the request would have needed.
pub fn check(role: Role, reps: usize, paths: usize, months: usize) -> Result<(), ApiError> {
    let refuse = |message: String| {
        Err(ApiError::invalid(
            format!("paths: {message}"),
            vec![InputError::field("paths", message)],
            1,
        ))
    };
    if role != Role::Admin && paths > SCOPED_MAX_PATHS {
        return refuse(format!(
            "a {} token may ask for at most {SCOPED_MAX_PATHS} paths (asked {paths})",
            role.as_str()
        ));
    }
    let budget = if role == Role::Admin {
        ADMIN_BUDGET
    } else {
        OTHER_BUDGET
    };
    let needed = reps.max(1) as u64 * paths as u64 * months.max(1) as u64 * 4;
    if needed > budget {
        return refuse(format!(
            "{reps} reps x {paths} paths x {months} months need {} MiB of sample paths, over this token's budget of {} MiB; ask for fewer paths or a nearer period",
            needed.div_ceil(1 << 20),
            budget >> 20
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_memory_are_bounded_by_role() {
        // The default thousand paths over a year for 10,000 reps fits.
        assert!(check(Role::Rep, 10_000, 1_000, 6).is_ok());
        // A rep token asking for 100,000 paths is refused by the limit.
        let err = check(Role::Rep, 10_000, 100_000, 24).unwrap_err();
        assert_eq!(err.status.as_u16(), 422);
        assert!(err.detail.contains("at most 5000 paths"), "{}", err.detail);
        // An admin may ask for more paths, within the budget only.
        assert!(check(Role::Admin, 100, 100_000, 12).is_ok());
        let err = check(Role::Admin, 10_000, 100_000, 24).unwrap_err();
        assert!(err.detail.contains("budget of 2048 MiB"), "{}", err.detail);
        // Others' budget: 5,000 paths over 24 months for 10,000 reps is
        // 4.6 GB.
        assert!(check(Role::Finance, 10_000, 5_000, 24).is_err());
    }
}
