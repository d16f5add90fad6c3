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
    /// Connections `attain serve` holds open at once.
    pub max_connections: Option<usize>,
    /// Seconds a client may take to send a request's headers.
    pub header_timeout_secs: Option<u64>,
    /// Requests a second each token may make (0: no limit).
    pub rate_limit: Option<u32>,
    /// PEM certificate chain `attain serve` answers TLS with.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Seconds a process holds a claimed job without renewing its lease.
    pub job_lease_secs: Option<u64>,
    /// Folder of exports the daily refresh ingests (then trains and forecasts).
    pub refresh_dir: Option<PathBuf>,
    /// Time of day (UTC, `HH:MM`) of the daily refresh.
    pub refresh_at: Option<String>,
    /// Preset the daily refresh reads its folder with (default `native`).
    pub refresh_preset: Option<String>,
    /// The organisation's currency, an ISO 4217 code (default `USD`).
    pub currency: Option<String>,
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
    /// `ATTAIN_MODELS_DIR`, `ATTAIN_LISTEN_ADDR`, `ATTAIN_REQUEST_TIMEOUT_SECS`,
    /// `ATTAIN_MAX_BODY_BYTES`, `ATTAIN_MAX_CONNECTIONS`, `ATTAIN_HEADER_TIMEOUT_SECS`,
    /// `ATTAIN_RATE_LIMIT`,
    /// `ATTAIN_TLS_CERT`, `ATTAIN_TLS_KEY`, `ATTAIN_JOB_LEASE_SECS`,
    /// `ATTAIN_REFRESH_DIR`, `ATTAIN_REFRESH_AT`, `ATTAIN_REFRESH_PRESET` and
    /// `ATTAIN_CURRENCY`.
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
            max_connections: number("ATTAIN_MAX_CONNECTIONS")?.map(|v| v as usize),
            header_timeout_secs: number("ATTAIN_HEADER_TIMEOUT_SECS")?,
            rate_limit: number("ATTAIN_RATE_LIMIT")?
                .map(|v| {
                    u32::try_from(v).map_err(|_| ConfigError::Invalid {
                        key: "rate_limit",
                        message: format!("{v} is too large"),
                    })
                })
                .transpose()?,
            tls_cert: var("ATTAIN_TLS_CERT").map(PathBuf::from),
            tls_key: var("ATTAIN_TLS_KEY").map(PathBuf::from),
            job_lease_secs: number("ATTAIN_JOB_LEASE_SECS")?,
            refresh_dir: var("ATTAIN_REFRESH_DIR").map(PathBuf::from),
            refresh_at: var("ATTAIN_REFRESH_AT"),
            refresh_preset: var("ATTAIN_REFRESH_PRESET"),
            currency: var("ATTAIN_CURRENCY"),
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
            max_connections: over.max_connections.or(self.max_connections),
            header_timeout_secs: over.header_timeout_secs.or(self.header_timeout_secs),
            rate_limit: over.rate_limit.or(self.rate_limit),
            tls_cert: over.tls_cert.or(self.tls_cert),
            tls_key: over.tls_key.or(self.tls_key),
            job_lease_secs: over.job_lease_secs.or(self.job_lease_secs),
            refresh_dir: over.refresh_dir.or(self.refresh_dir),
            refresh_at: over.refresh_at.or(self.refresh_at),
            refresh_preset: over.refresh_preset.or(self.refresh_preset),
            currency: over.currency.or(self.currency),
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
        let currency = self.currency.unwrap_or_else(|| "USD".to_owned());
        if iso_currency::Currency::from_code(currency.trim()).is_none() {
            return Err(ConfigError::Invalid {
                key: "currency",
                message: format!("{currency:?} is not an ISO 4217 currency code (e.g. USD, EUR)"),
            });
        }
        let currency = currency.trim().to_owned();
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
        let max_connections = self.max_connections.unwrap_or(1024);
        if max_connections == 0 {
            return Err(ConfigError::Invalid {
                key: "max_connections",
                message: "must be at least 1".into(),
            });
        }
        let tls = match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Invalid {
                    key: "tls_key",
                    message: "a TLS certificate needs its private key (tls_key)".into(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Invalid {
                    key: "tls_cert",
                    message: "a TLS private key needs its certificate (tls_cert)".into(),
                });
            }
        };
        let header_timeout_secs = self.header_timeout_secs.unwrap_or(10);
        if !(1..=300).contains(&header_timeout_secs) {
            return Err(ConfigError::Invalid {
                key: "header_timeout_secs",
                message: "must be from 1 to 300".into(),
            });
        }
        let job_lease_secs = self.job_lease_secs.unwrap_or(30);
        if !(1..=3600).contains(&job_lease_secs) {
            return Err(ConfigError::Invalid {
                key: "job_lease_secs",
                message: "must be from 1 to 3600".into(),
            });
        }
        let refresh = refresh_schedule(self.refresh_dir, self.refresh_at, self.refresh_preset)?;
        Ok(Settings {
            header_timeout: std::time::Duration::from_secs(header_timeout_secs),
            job_lease: std::time::Duration::from_secs(job_lease_secs),
            refresh,
            max_connections,
            rate_limit: self.rate_limit.unwrap_or(DEFAULT_RATE_LIMIT),
            tls,
            listen_addr,
            request_timeout: std::time::Duration::from_secs(request_timeout_secs),
            max_body_bytes,
            database_url,
            data_dir,
            fiscal,
            max_reported_errors,
            models_dir: self.models_dir.unwrap_or_else(|| PathBuf::from("models")),
            currency,
        })
    }
}

/// The daily refresh, when both its folder and its time are set.
fn refresh_schedule(
    dir: Option<PathBuf>,
    at: Option<String>,
    preset: Option<String>,
) -> Result<Option<RefreshSchedule>, ConfigError> {
    let (dir, at) = match (dir, at) {
        (None, None) => {
            if preset.is_some() {
                return Err(ConfigError::Invalid {
                    key: "refresh_preset",
                    message: "is only read with refresh_dir and refresh_at".into(),
                });
            }
            return Ok(None);
        }
        (Some(dir), Some(at)) => (dir, at),
        (Some(_), None) => {
            return Err(ConfigError::Invalid {
                key: "refresh_at",
                message: "a refresh folder needs a time of day (HH:MM, UTC)".into(),
            });
        }
        (None, Some(_)) => {
            return Err(ConfigError::Invalid {
                key: "refresh_dir",
                message: "a refresh time needs the folder to ingest".into(),
            });
        }
    };
    let at = chrono::NaiveTime::parse_from_str(at.trim(), "%H:%M").map_err(|_| {
        ConfigError::Invalid {
            key: "refresh_at",
            message: format!("{at:?} is not a time of day HH:MM (UTC), e.g. 02:30"),
        }
    })?;
    let preset = preset.unwrap_or_else(|| "native".to_owned());
    Ok(Some(RefreshSchedule { dir, at, preset }))
}

/// The daily refresh: ingest a folder, then train and forecast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshSchedule {
    /// The folder of exports.
    pub dir: PathBuf,
    /// Time of day (UTC).
    pub at: chrono::NaiveTime,
    /// The preset its files are read with.
    pub preset: String,
}

/// Requests a second a token may make unless configured.
pub const DEFAULT_RATE_LIMIT: u32 = 100;

/// The PEM files `attain serve` answers TLS with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
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
    /// Connections held open at once (default 1024); past it new ones are closed.
    pub max_connections: usize,
    /// Longest a client may take to send a request's headers, and its first
    /// request on a new connection (default 10 s); then it is closed.
    pub header_timeout: std::time::Duration,
    /// Requests a second per token, bursts of twice that (default 100; 0: no limit).
    pub rate_limit: u32,
    /// TLS certificate and key, when `attain serve` answers HTTPS itself.
    pub tls: Option<TlsFiles>,
    /// How long a claimed job's lease lasts without renewal (default 30 s);
    /// a job whose process died is claimed again this long after.
    pub job_lease: std::time::Duration,
    /// The daily refresh, when configured.
    pub refresh: Option<RefreshSchedule>,
    /// The organisation's currency (ISO 4217): what amounts are in and
    /// what the payroll file names.
    pub currency: String,
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
