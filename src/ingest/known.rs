//! What a call knows exists while it checks references and duplicates:
//! stored ids plus those loaded so far, kept as 128-bit hashed keys.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};

use super::load::Parsed;
use crate::domain::RepId;
use crate::store::{Store, StoreError, Table};

/// A 128-bit hash standing for a key (an id, or id and day) in the sets that
/// find duplicates and references: millions of them fit in little memory,
/// and a false match is about as likely as a meteor strike.
pub(super) type Key = u128;

pub(super) fn key(parts: &[&str]) -> Key {
    use std::hash::{Hash, Hasher};
    let mut first = std::hash::DefaultHasher::new();
    let mut second = std::hash::DefaultHasher::new();
    0x5au8.hash(&mut second);
    for part in parts {
        part.hash(&mut first);
        part.hash(&mut second);
    }
    (u128::from(first.finish()) << 64) | u128::from(second.finish())
}

/// The key of an id on a day, derived from the id's key without hashing
/// text again (the hot path of a history file).
pub(super) fn with_day(id_key: Key, day: NaiveDate) -> Key {
    let days = chrono::Datelike::num_days_from_ce(&day) as u32;
    id_key.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) ^ u128::from(days)
}

/// Keys met so far in one table during a call.
#[derive(Default)]
pub(super) struct Seen {
    /// Every key loaded.
    pub(super) keys: HashSet<Key>,
    /// History with `same_day = "last"`: the moment kept for each deal and day.
    pub(super) moments: HashMap<Key, NaiveDateTime>,
    /// People whose manager was not known when their row was read, with the
    /// problem to report if no file of the table names that manager: the
    /// files of one table may come in any order.
    pub(super) pending_managers: Vec<(RepId, super::Problem)>,
    /// With `repeated = "merge"`: per id, a hash of the first row's record
    /// and that row's number.
    pub(super) merged: HashMap<Key, (u64, usize)>,
}

/// A hash of a record's content, to tell rows that repeat an id apart from
/// rows that agree.
pub(super) fn content_key<T: std::fmt::Debug>(record: &T) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    format!("{record:?}").hash(&mut h);
    h.finish()
}

impl Seen {
    /// The problems of references still unknown once every file of the
    /// table is read.
    pub(super) fn unresolved(
        self,
        known: &Known,
    ) -> impl Iterator<Item = (RepId, super::Problem)> + '_ {
        self.pending_managers
            .into_iter()
            .filter(|(manager, _)| !known.reps.contains_key(manager.as_str()))
    }
}

/// What the call knows exists: stored ids plus those loaded so far.
pub(super) struct Known {
    pub(super) territories: HashSet<String>,
    /// Everyone stored or loaded, with their manager.
    pub(super) reps: HashMap<String, Option<RepId>>,
    /// Stored deal ids, fetched on first need (they can be millions).
    pub(super) stored_opportunities: Option<HashSet<Key>>,
    /// Deal ids loaded in this call.
    pub(super) new_opportunities: HashSet<Key>,
    /// Every rep's `plan_id`, stored or loaded.
    pub(super) plan_ids: HashMap<String, String>,
    /// The latest activity among the rows of this call (see
    /// [`Parsed::last_activity`]).
    pub(super) last_activity: Option<NaiveDate>,
    /// Per currency other than the organisation's named by a row of this
    /// call: the earliest day it needs a rate for, and that row's place.
    pub(super) currency_needs: HashMap<String, (NaiveDate, super::Problem)>,
    /// The fiscal calendar (a quota needs its currency's rate from its
    /// period's first day).
    pub(super) fiscal: crate::domain::FiscalCalendar,
    /// The organisation's currency.
    pub(super) currency: String,
}

impl Known {
    /// What the store already holds: territories, people (with their
    /// managers and plans); stored deals are fetched when first needed.
    pub(super) async fn stored(
        store: &Store,
        fiscal: crate::domain::FiscalCalendar,
        currency: &str,
    ) -> Result<Known, StoreError> {
        let stored_reps = store.reps().await?;
        Ok(Known {
            territories: store.ids(Table::Territories).await?,
            plan_ids: stored_reps
                .iter()
                .filter_map(|r| Some((r.rep_id.as_str().to_owned(), r.plan_id.clone()?)))
                .collect(),
            reps: stored_reps
                .into_iter()
                .map(|r| (r.rep_id.as_str().to_owned(), r.manager_id))
                .collect(),
            stored_opportunities: None,
            new_opportunities: HashSet::new(),
            last_activity: None,
            currency_needs: HashMap::new(),
            fiscal,
            currency: currency.to_owned(),
        })
    }

    pub(super) fn has_opportunity(&self, id: &str) -> bool {
        self.has_opportunity_key(key(&[id]))
    }

    /// Whether a deal exists: loaded in this call, or stored (the stored
    /// ids must have been fetched when a chunk needs them, see
    /// [`Known::fetch_stored_opportunities_for`]).
    pub(super) fn has_opportunity_key(&self, id: Key) -> bool {
        self.new_opportunities.contains(&id)
            || self
                .stored_opportunities
                .as_ref()
                .is_some_and(|s| s.contains(&id))
    }

    /// Fetches the stored deal ids (they can be millions), once.
    pub(super) async fn fetch_stored_opportunities(
        &mut self,
        store: &Store,
    ) -> Result<(), StoreError> {
        if self.stored_opportunities.is_none() {
            let stored = store.ids(Table::Opportunities).await?;
            self.stored_opportunities = Some(stored.iter().map(|s| key(&[s])).collect());
        }
        Ok(())
    }

    /// Fetches the stored deal ids when a row of `parsed` refers to a deal
    /// not loaded in this call (a newer export of history alone, say).
    pub(super) async fn fetch_stored_opportunities_for(
        &mut self,
        store: &Store,
        parsed: &Parsed,
    ) -> Result<(), StoreError> {
        if self.stored_opportunities.is_some() {
            return Ok(());
        }
        let needs = match parsed {
            Parsed::History(rows) => rows
                .iter()
                .any(|(h, _, _)| !self.has_opportunity(h.opportunity_id.as_str())),
            Parsed::Bookings(rows) => rows.iter().any(|(b, _)| {
                b.opportunity_id
                    .as_ref()
                    .is_some_and(|o| !self.has_opportunity(o.as_str()))
            }),
            _ => false,
        };
        if needs {
            self.fetch_stored_opportunities(store).await?;
        }
        Ok(())
    }
}
