//! Model artifacts kept in the store, so processes on several hosts share
//! one set of versions (each keeps a copy in its models folder).

use super::{Store, StoreError, on_backend};

/// One version's artifact files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelArtifact {
    /// `v0003-1a2b3c4d`.
    pub version: String,
    /// The forecast model (`model.json`).
    pub model: Vec<u8>,
    /// The win-probability model (`scoring.json`), when trained.
    pub scoring: Option<Vec<u8>>,
}

impl Store {
    /// Versions stored, oldest first.
    pub async fn model_versions(&self) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT version FROM model_artifacts ORDER BY version";
        self.rows(sql, &[]).await
    }

    /// Stores a version unless one of that name is stored; true when stored.
    pub async fn put_model(&self, artifact: &ModelArtifact) -> Result<bool, StoreError> {
        let sql = "INSERT INTO model_artifacts (version, created_at, model, scoring) \
                   VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO NOTHING";
        let now = chrono::Utc::now().to_rfc3339();
        let changed;
        on_backend!(self, Store, |pool, Db| {
            changed = sqlx::query::<Db>(sql)
                .bind(artifact.version.as_str())
                .bind(now.as_str())
                .bind(artifact.model.as_slice())
                .bind(artifact.scoring.as_deref())
                .execute(pool)
                .await?
                .rows_affected();
        });
        Ok(changed > 0)
    }

    /// One version's files.
    pub async fn model_artifact(&self, version: &str) -> Result<Option<ModelArtifact>, StoreError> {
        let sql = "SELECT model, scoring FROM model_artifacts WHERE version = $1";
        let row: Option<(Vec<u8>, Option<Vec<u8>>)>;
        on_backend!(self, Store, |pool, Db| {
            row = sqlx::query_as::<Db, (Vec<u8>, Option<Vec<u8>>)>(sql)
                .bind(version)
                .fetch_optional(pool)
                .await?;
        });
        Ok(row.map(|(model, scoring)| ModelArtifact {
            version: version.to_owned(),
            model,
            scoring,
        }))
    }
}
