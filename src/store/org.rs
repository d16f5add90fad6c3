//! The organisation's history: who reported to whom and covered which
//! territory from which day (`org_history.csv`); `reps` is the current
//! state.

use chrono::NaiveDate;

use super::cols::from_cols;
use super::{Store, StoreError, StoreTx};

/// One change of a person's place, in force from `from` until their next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgMove {
    /// Who.
    pub rep_id: String,
    /// First day in force.
    pub from: NaiveDate,
    /// Their manager from that day (`None`: as before).
    pub manager_id: Option<String>,
    /// Their territory from that day (`None`: as before).
    pub territory_id: Option<String>,
}

const LIST: &str = "SELECT rep_id, from_date, manager_id, territory_id FROM org_history ORDER BY rep_id, from_date";

impl StoreTx {
    /// Stores a change (replacing the person's change of the same day);
    /// true when something changed.
    pub async fn upsert_org_move(&mut self, m: &OrgMove) -> Result<bool, StoreError> {
        let sql = "INSERT INTO org_history (rep_id, from_date, manager_id, territory_id) \
                   VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (rep_id, from_date) DO UPDATE SET \
                   manager_id = excluded.manager_id, territory_id = excluded.territory_id \
                   WHERE org_history.manager_id IS DISTINCT FROM excluded.manager_id \
                   OR org_history.territory_id IS DISTINCT FROM excluded.territory_id";
        let params = [
            m.rep_id.as_str().into(),
            m.from.into(),
            m.manager_id.as_deref().into(),
            m.territory_id.as_deref().into(),
        ];
        Ok(self.execute(sql, &params).await? > 0)
    }

    /// Every stored change (those written in this transaction included).
    pub async fn org_history(&mut self) -> Result<Vec<OrgMove>, StoreError> {
        self.rows(LIST, &[]).await
    }
}

impl Store {
    /// Every stored change, by person and day.
    pub async fn org_history(&self) -> Result<Vec<OrgMove>, StoreError> {
        self.rows(LIST, &[]).await
    }
}

from_cols! {
    OrgMove {
        rep_id, from: day, manager_id, territory_id
    }
}
