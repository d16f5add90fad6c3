//! API tokens, stored as hashes.

use super::cols::from_cols;
use super::{Store, StoreError, StoreTx, on_backend};

/// One stored token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenRecord {
    /// Public id (the first characters of the token, safe to show).
    pub token_id: String,
    /// Who or what it is for.
    pub name: String,
    /// `admin`, `leader`, `manager`, `finance` or `rep`.
    pub role: String,
    /// The rep or manager id the token is limited to.
    pub scope: Option<String>,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// RFC 3339 revocation time, when revoked.
    pub revoked_at: Option<String>,
    /// RFC 3339 time from which it is refused, when it has one.
    pub expires_at: Option<String>,
}

/// The store's state as the server's read caches see it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stamp {
    /// The latest forecast run (0 before any).
    pub forecast_run: i64,
    /// The tokens' generation: any change to the tokens changes it.
    pub tokens: [i64; 3],
    /// The latest ingest run (0 before any).
    pub ingest_run: i64,
    /// Model versions stored.
    pub models: i64,
}

const COLUMNS: &str = "token_id, name, role, scope, created_at, revoked_at, expires_at";

from_cols! {
    TokenRecord {
        token_id, name, role, scope, created_at, revoked_at, expires_at
    }
}

impl Store {
    /// Stores a new token's hash, with its audit event (`actor` made it).
    pub async fn insert_token(
        &self,
        token: &TokenRecord,
        hash: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO api_tokens \
                   (token_id, token_hash, name, role, scope, created_at, nonce, expires_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        // Positive and under 2^31, so a sum of millions stays in an i64.
        let nonce = i64::from(rand::random::<u32>() >> 1) + 1;
        let mut tx = self.begin().await?;
        on_backend!(&mut tx, StoreTx, |conn, Db| {
            sqlx::query::<Db>(sql)
                .bind(token.token_id.as_str())
                .bind(hash)
                .bind(token.name.as_str())
                .bind(token.role.as_str())
                .bind(token.scope.as_deref())
                .bind(token.created_at.as_str())
                .bind(nonce)
                .bind(token.expires_at.as_deref())
                .execute(&mut **conn)
                .await?;
        });
        tx.audit(&super::NewEvent {
            actor,
            kind: "token_create",
            subject: &format!("token {}", token.token_id),
            before: None,
            after: Some(serde_json::json!({
                "name": token.name, "role": token.role, "scope": token.scope,
                "expires_at": token.expires_at,
            })),
            note: None,
        })
        .await?;
        tx.commit().await
    }

    /// The live (not revoked) token with this hash.
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
        );
        self.row(&sql, &[hash.into()]).await
    }

    /// Every token, newest first.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens ORDER BY created_at DESC, token_id");
        self.rows(&sql, &[]).await
    }

    /// Revokes a token by its id, with its audit event; false (and no
    /// event) when no live token has that id.
    pub async fn revoke_token(&self, token_id: &str, actor: &str) -> Result<bool, StoreError> {
        let sql =
            "UPDATE api_tokens SET revoked_at = $1 WHERE token_id = $2 AND revoked_at IS NULL";
        let now = chrono::Utc::now().to_rfc3339();
        let mut tx = self.begin().await?;
        let changed = tx
            .execute(sql, &[now.as_str().into(), token_id.into()])
            .await?;
        if changed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.audit(&super::NewEvent {
            actor,
            kind: "token_revoke",
            subject: &format!("token {token_id}"),
            before: Some(serde_json::json!({"revoked_at": null})),
            after: Some(serde_json::json!({"revoked_at": now})),
            note: None,
        })
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// What read caches depend on, in one query: the latest forecast run;
    /// the tokens' generation (their number, the number revoked and the
    /// sum of their random nonces, which any token made, revoked or
    /// deleted changes); the latest ingest run; and the model versions
    /// stored.
    pub async fn stamp(&self) -> Result<Stamp, StoreError> {
        let sql = "SELECT CAST((SELECT COALESCE(MAX(run_id), 0) FROM forecast_runs) AS BIGINT), \
                          CAST((SELECT COUNT(*) FROM api_tokens) AS BIGINT), \
                          CAST((SELECT COUNT(revoked_at) FROM api_tokens) AS BIGINT), \
                          CAST((SELECT COALESCE(SUM(nonce), 0) FROM api_tokens) AS BIGINT), \
                          CAST((SELECT COALESCE(MAX(run_id), 0) FROM ingest_runs) AS BIGINT), \
                          CAST((SELECT COUNT(*) FROM model_artifacts) AS BIGINT)";
        let parts: (i64, i64, i64, i64, i64, i64);
        on_backend!(self, Store, |pool, Db| {
            parts = sqlx::query_as::<Db, (i64, i64, i64, i64, i64, i64)>(sql)
                .fetch_one(pool)
                .await?;
        });
        Ok(Stamp {
            forecast_run: parts.0,
            tokens: [parts.1, parts.2, parts.3],
            ingest_run: parts.4,
            models: parts.5,
        })
    }

    /// The number of the latest ingest run (0 before any): a cheap marker
    /// that changes whenever an ingest may have changed the data.
    pub async fn data_version(&self) -> Result<i64, StoreError> {
        let sql = "SELECT CAST(COALESCE(MAX(run_id), 0) AS BIGINT) FROM ingest_runs";
        Ok(self.row(sql, &[]).await?.unwrap_or(0))
    }
}
