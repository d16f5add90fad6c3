//! The organisation's history: who reported to whom and covered which
//! territory from which day (`org_history.csv`); `reps` is the current
//! state.

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use sqlx::Row;

use super::{Store, StoreError, StoreTx, on_backend};

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
        let changed;
        on_backend!(self, StoreTx, |conn, Db| {
            changed = sqlx::query::<Db>(sql)
                .bind(m.rep_id.as_str())
                .bind(m.from)
                .bind(m.manager_id.as_deref())
                .bind(m.territory_id.as_deref())
                .execute(&mut **conn)
                .await?
                .rows_affected();
        });
        Ok(changed > 0)
    }

    /// Every stored change (those written in this transaction included).
    pub async fn org_history(&mut self) -> Result<Vec<OrgMove>, StoreError> {
        let mut out = Vec::new();
        on_backend!(self, StoreTx, |conn, Db| {
            let mut rows = sqlx::query::<Db>(LIST).fetch(&mut **conn);
            while let Some(row) = rows.try_next().await? {
                out.push(read(
                    row.try_get(0)?,
                    row.try_get(1)?,
                    row.try_get(2)?,
                    row.try_get(3)?,
                ));
            }
        });
        Ok(out)
    }
}

impl Store {
    /// Every stored change, by person and day.
    pub async fn org_history(&self) -> Result<Vec<OrgMove>, StoreError> {
        let mut out = Vec::new();
        on_backend!(self, Store, |pool, Db| {
            let mut rows = sqlx::query::<Db>(LIST).fetch(pool);
            while let Some(row) = rows.try_next().await? {
                out.push(read(
                    row.try_get(0)?,
                    row.try_get(1)?,
                    row.try_get(2)?,
                    row.try_get(3)?,
                ));
            }
        });
        Ok(out)
    }
}

fn read(
    rep_id: String,
    from: NaiveDate,
    manager_id: Option<String>,
    territory_id: Option<String>,
) -> OrgMove {
    OrgMove {
        rep_id,
        from,
        manager_id,
        territory_id,
    }
}
