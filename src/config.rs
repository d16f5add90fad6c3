//! Typed settings, read once at start-up from an optional TOML file, then
//! `ATTAIN_*` environment variables, then command-line flags (later wins),
//! and validated into a [`Settings`] that cannot be invalid.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::FiscalCalendar;

/// Why the settings could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for these settings.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line.
        message: String,
    },
    /// A value is out of range.
    #[error("setting {key}: {message}")]
    Invalid {
        /// Which setting.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Settings as written in a config file or the environment: every field optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    /// Store URL: `sqlite://PATH` or `postgres://...`.
    pub database_url: Option<String>,
    /// Folder for the default SQLite store, models and reports.
    pub data_dir: Option<PathBuf>,
    /// First calendar month (1..=12) of the fiscal year.
    pub fiscal_year_start_month: Option<u32>,
    /// Most problems listed by a failed ingest before the list is cut short.
    pub max_reported_errors: Option<usize>,
    /// Folder of trained model versions.
    pub models_dir: Option<PathBuf>,
    /// Address `attain serve` listens on.
    pub listen_addr: Option<String>,
    /// Seconds a request may take before it is answered 503.
    pub request_timeout_secs: Option<u64>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: Option<usize>,
}

impl RawSettings {
    /// Reads a TOML config file.
    pub fn from_file(path: &Path) -> Result<RawSettings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Reads `ATTAIN_DATABASE_URL`, `ATTAIN_DATA_DIR`,
    /// `ATTAIN_FISCAL_YEAR_START_MONTH`, `ATTAIN_MAX_REPORTED_ERRORS`,
    /// `ATTAIN_MODELS_DIR`, `ATTAIN_LISTEN_ADDR`, `ATTAIN_REQUEST_TIMEOUT_SECS` and
    /// `ATTAIN_MAX_BODY_BYTES`.
    pub fn from_env() -> Result<RawSettings, ConfigError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let number = |key: &'static str| -> Result<Option<u64>, ConfigError> {
            var(key)
                .map(|v| {
                    v.parse::<u64>().map_err(|_| ConfigError::Invalid {
                        key,
                        message: format!("{v:?} is not a whole number"),
                    })
                })
                .transpose()
        };
        Ok(RawSettings {
            database_url: var("ATTAIN_DATABASE_URL"),
            data_dir: var("ATTAIN_DATA_DIR").map(PathBuf::from),
            fiscal_year_start_month: number("ATTAIN_FISCAL_YEAR_START_MONTH")?.map(|v| v as u32),
            max_reported_errors: number("ATTAIN_MAX_REPORTED_ERRORS")?.map(|v| v as usize),
            models_dir: var("ATTAIN_MODELS_DIR").map(PathBuf::from),
            listen_addr: var("ATTAIN_LISTEN_ADDR"),
            request_timeout_secs: number("ATTAIN_REQUEST_TIMEOUT_SECS")?,
            max_body_bytes: number("ATTAIN_MAX_BODY_BYTES")?.map(|v| v as usize),
        })
    }

    /// Fields set in `over` replace those in `self`.
    pub fn overlay(self, over: RawSettings) -> RawSettings {
        RawSettings {
            database_url: over.database_url.or(self.database_url),
            data_dir: over.data_dir.or(self.data_dir),
            fiscal_year_start_month: over
                .fiscal_year_start_month
                .or(self.fiscal_year_start_month),
            max_reported_errors: over.max_reported_errors.or(self.max_reported_errors),
            models_dir: over.models_dir.or(self.models_dir),
            listen_addr: over.listen_addr.or(self.listen_addr),
            request_timeout_secs: over.request_timeout_secs.or(self.request_timeout_secs),
            max_body_bytes: over.max_body_bytes.or(self.max_body_bytes),
        }
    }

    /// Validates and fills defaults.
    pub fn validate(self) -> Result<Settings, ConfigError> {
        let data_dir = self.data_dir.unwrap_or_else(|| PathBuf::from(".attain"));
        let database_url = match self.database_url {
            Some(url)
                if url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://") =>
            {
                url
            }
            Some(url) => {
                return Err(ConfigError::Invalid {
                    key: "database_url",
                    message: format!("{url:?} is neither sqlite:PATH nor postgres://..."),
                });
            }
            None => format!("sqlite://{}", data_dir.join("attain.db").display()),
        };
        let fiscal =
            FiscalCalendar::new(self.fiscal_year_start_month.unwrap_or(1)).map_err(|_| {
                ConfigError::Invalid {
                    key: "fiscal_year_start_month",
                    message: "must be a month number from 1 to 12".into(),
                }
            })?;
        let max_reported_errors = self.max_reported_errors.unwrap_or(50);
        if max_reported_errors == 0 {
            return Err(ConfigError::Invalid {
                key: "max_reported_errors",
                message: "must be at least 1".into(),
            });
        }
        let listen_addr = self
            .listen_addr
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen_addr: std::net::SocketAddr =
            listen_addr.parse().map_err(|_| ConfigError::Invalid {
                key: "listen_addr",
                message: format!("{listen_addr:?} is not HOST:PORT (e.g. 127.0.0.1:8080)"),
            })?;
        let request_timeout_secs = self.request_timeout_secs.unwrap_or(60);
        if !(1..=3600).contains(&request_timeout_secs) {
            return Err(ConfigError::Invalid {
                key: "request_timeout_secs",
                message: "must be from 1 to 3600".into(),
            });
        }
        let max_body_bytes = self.max_body_bytes.unwrap_or(256 << 20);
        if max_body_bytes < 1024 {
            return Err(ConfigError::Invalid {
                key: "max_body_bytes",
                message: "must be at least 1024".into(),
            });
        }
        Ok(Settings {
            listen_addr,
            request_timeout: std::time::Duration::from_secs(request_timeout_secs),
            max_body_bytes,
            database_url,
            data_dir,
            fiscal,
            max_reported_errors,
            models_dir: self.models_dir.unwrap_or_else(|| PathBuf::from("models")),
        })
    }
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Store URL (`sqlite://...` or `postgres://...`).
    pub database_url: String,
    /// Folder for the default store, models and reports.
    pub data_dir: PathBuf,
    /// The fiscal calendar quarters are counted in.
    pub fiscal: FiscalCalendar,
    /// Most problems a failed ingest lists.
    pub max_reported_errors: usize,
    /// Folder of trained model versions (default `models`).
    pub models_dir: PathBuf,
    /// Address `attain serve` listens on (default 127.0.0.1:8080).
    pub listen_addr: std::net::SocketAddr,
    /// Longest a request may take (default 60 s); longer work runs as a job.
    pub request_timeout: std::time::Duration,
    /// Largest request body (default 256 MiB).
    pub max_body_bytes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_sqlite_in_data_dir() {
        let s = RawSettings::default().validate().unwrap();
        assert!(s.database_url.starts_with("sqlite://"));
        assert!(s.database_url.ends_with("attain.db"));
        assert_eq!(s.fiscal.first_month(), 1);
    }

    #[test]
    fn later_layers_win_and_bad_values_are_refused() {
        let file = RawSettings {
            fiscal_year_start_month: Some(2),
            ..Default::default()
        };
        let cli = RawSettings {
            database_url: Some("postgres://x@localhost/db".into()),
            ..Default::default()
        };
        let s = file.overlay(cli).validate().unwrap();
        assert_eq!(s.fiscal.first_month(), 2);
        assert!(s.database_url.starts_with("postgres://"));
        let bad = RawSettings {
            fiscal_year_start_month: Some(13),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
        let bad_url = RawSettings {
            database_url: Some("mysql://x".into()),
            ..Default::default()
        };
        assert!(bad_url.validate().is_err());
    }
}
