//! Versioned model artifacts under the models folder: one folder per
//! version (`v0003-1a2b3c4d`: a running number and the first eight hex
//! digits of the data fingerprint), holding `model.json` (parameters,
//! selection, fitted coefficients, residual pools, backtest metrics, data
//! fingerprint, crate versions) and, when the data has deal history,
//! `scoring.json` (the win-probability model). Versions are never
//! overwritten.
//!
//! The store holds every version too ([`sync`]): the folder is each
//! process's copy, so replicas on several hosts sharing one database serve
//! the same models. A version trained here is copied to the store by the
//! job that trained it; a version trained elsewhere is copied here before a
//! job or a request reads the registry.

use std::path::{Path, PathBuf};

use crate::config::Settings;
use crate::forecast::TrainedModel;
use crate::scoring::ScoringModel;
use crate::store::{ModelArtifact, Store, StoreError};

/// Why the registry could not read or write a model.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A stored artifact does not parse (edited, or from another version).
    #[error("{path}: not a model artifact: {source}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// No model with that version.
    #[error("no model version {0:?} in the registry")]
    Unknown(String),
}

/// The folder models are kept in.
#[derive(Debug, Clone)]
pub struct Registry {
    root: PathBuf,
}

/// The artifact file inside a version folder.
const ARTIFACT: &str = "model.json";
/// The win-probability model beside it.
const SCORING: &str = "scoring.json";

/// Writes `value` as JSON to a temporary name beside `path` and renames
/// it into place, so a crash never leaves a half-written artifact.
fn write_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), RegistryError> {
    let text = serde_json::to_vec(value).map_err(|source| RegistryError::Format {
        path: path.to_owned(),
        source,
    })?;
    write_bytes_atomic(path, &text)
}

/// [`write_atomic`] of bytes already serialised.
fn write_bytes_atomic(path: &Path, text: &[u8]) -> Result<(), RegistryError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    // On disk before the rename, and the rename itself on disk after: a
    // power cut leaves the old state or the new, never an empty file.
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text)?;
        file.sync_all()
    };
    write().map_err(|source| RegistryError::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| RegistryError::Io {
        path: path.to_owned(),
        source,
    })?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| RegistryError::Io {
                path: dir.to_owned(),
                source,
            })?;
    }
    Ok(())
}

impl Registry {
    /// A registry rooted at `root` (created on first save).
    pub fn new(root: impl Into<PathBuf>) -> Registry {
        Registry { root: root.into() }
    }

    /// Where it lives.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Versions present, oldest first.
    pub fn versions(&self) -> Result<Vec<String>, RegistryError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(RegistryError::Io {
                    path: self.root.clone(),
                    source,
                });
            }
        };
        let mut out: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().join(ARTIFACT).is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with('v'))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Saves a model under a new version, which it returns (and sets on
    /// the model). The file is written to a temporary name and renamed, so
    /// a crash never leaves a half-written artifact.
    pub fn save(
        &self,
        model: &mut TrainedModel,
        scoring: Option<&ScoringModel>,
    ) -> Result<String, RegistryError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| RegistryError::Io { path, source }
        };
        let next = self
            .versions()?
            .iter()
            .filter_map(|v| v[1..].split('-').next()?.parse::<u32>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        let short: String = model.data_fingerprint.chars().take(8).collect();
        let version = format!("v{next:04}-{short}");
        model.version = version.clone();
        let dir = self.root.join(&version);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        // The win-probability model first: a version is complete once its
        // forecast model is in place.
        if let Some(scoring) = scoring {
            write_atomic(&dir.join(SCORING), scoring)?;
        }
        write_atomic(&dir.join(ARTIFACT), model)?;
        Ok(version)
    }

    /// One version's files as stored (`model.json`, and `scoring.json`
    /// when it has one); `None` when the version is not here.
    pub fn files(&self, version: &str) -> Result<Option<ModelArtifact>, RegistryError> {
        let read = |name: &str| -> Result<Option<Vec<u8>>, RegistryError> {
            let path = self.root.join(version).join(name);
            match std::fs::read(&path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(RegistryError::Io { path, source }),
            }
        };
        let Some(model) = read(ARTIFACT)? else {
            return Ok(None);
        };
        Ok(Some(ModelArtifact {
            version: version.to_owned(),
            model,
            scoring: read(SCORING)?,
        }))
    }

    /// Writes a version's files (a copy of a version trained elsewhere),
    /// the forecast model last, as [`Registry::save`] does.
    pub fn put_files(&self, artifact: &ModelArtifact) -> Result<(), RegistryError> {
        let dir = self.root.join(&artifact.version);
        std::fs::create_dir_all(&dir).map_err(|source| RegistryError::Io {
            path: dir.clone(),
            source,
        })?;
        if let Some(scoring) = &artifact.scoring {
            write_bytes_atomic(&dir.join(SCORING), scoring)?;
        }
        write_bytes_atomic(&dir.join(ARTIFACT), &artifact.model)
    }

    /// Loads one version.
    pub fn load(&self, version: &str) -> Result<TrainedModel, RegistryError> {
        let path = self.root.join(version).join(ARTIFACT);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RegistryError::Unknown(version.to_owned()));
            }
            Err(source) => return Err(RegistryError::Io { path, source }),
        };
        serde_json::from_slice(&text).map_err(|source| RegistryError::Format { path, source })
    }

    /// The win-probability model of one version, when it has one.
    pub fn load_scoring(&self, version: &str) -> Result<Option<ScoringModel>, RegistryError> {
        let path = self.root.join(version).join(SCORING);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(RegistryError::Io { path, source }),
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|source| RegistryError::Format { path, source })
    }

    /// Every version whose artifact reads, oldest first. A damaged one (a
    /// file cut short or edited by hand) is reported in the log and passed
    /// over, so one bad file does not take every model route down.
    pub fn readable(&self) -> Result<Vec<(String, TrainedModel)>, RegistryError> {
        let mut out = Vec::new();
        for version in self.versions()? {
            match self.load(&version) {
                Ok(model) => out.push((version, model)),
                Err(RegistryError::Format { path, source }) => {
                    tracing::warn!(path = %path.display(), error = %source, "damaged model artifact passed over");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The newest readable version, if any.
    pub fn latest(&self) -> Result<Option<TrainedModel>, RegistryError> {
        Ok(self.readable()?.pop().map(|(_, m)| m))
    }
}

/// Makes the folder and the store hold the same versions: versions only
/// in the store are written here, versions only here (whose artifact
/// reads) are stored. A damaged local artifact is reported and not stored.
pub async fn sync(store: &Store, registry: &Registry) -> Result<(), super::JobError> {
    let stored = store.model_versions().await?;
    let local = {
        let registry = registry.clone();
        tokio::task::spawn_blocking(move || registry.versions())
            .await
            .map_err(|e| StoreError::Corrupt(format!("registry reader failed: {e}")))??
    };
    for version in stored.iter().filter(|v| !local.contains(v)) {
        let Some(artifact) = store.model_artifact(version).await? else {
            continue;
        };
        let registry = registry.clone();
        tokio::task::spawn_blocking(move || registry.put_files(&artifact))
            .await
            .map_err(|e| StoreError::Corrupt(format!("registry writer failed: {e}")))??;
        tracing::info!(version = %version, "model version copied from the store");
    }
    for version in local.iter().filter(|v| !stored.contains(v)) {
        let checked = {
            let (registry, version) = (registry.clone(), version.clone());
            tokio::task::spawn_blocking(move || -> Result<Option<ModelArtifact>, RegistryError> {
                // Only an artifact that reads back is shared.
                registry.load(&version)?;
                registry.files(&version)
            })
            .await
            .map_err(|e| StoreError::Corrupt(format!("registry reader failed: {e}")))?
        };
        match checked {
            Ok(Some(artifact)) => {
                store.put_model(&artifact).await?;
            }
            Ok(None) => {}
            Err(RegistryError::Format { path, source }) => {
                tracing::warn!(path = %path.display(), error = %source, "damaged model artifact not shared");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The registry of `settings`, in step with the store.
pub async fn shared(store: &Store, settings: &Settings) -> Result<Registry, super::JobError> {
    let registry = Registry::new(&settings.models_dir);
    sync(store, &registry).await?;
    Ok(registry)
}
