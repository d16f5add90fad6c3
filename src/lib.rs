//! attain: sales forecasting and predictive analytics for Sales Performance
//! Management.
//!
//! # Layout
//!
//! - [`domain`]: pure types (reps, territories, deals and their history,
//!   bookings, quotas, periods, money) and the organisation chart. Imports no
//!   framework crate.
//! - [`config`]: settings from file, `ATTAIN_*` environment and flags,
//!   validated once at start-up.
//! - [`ingest`]: reads CSV/Parquet (native layout, the Salesforce preset or a
//!   column mapping) with polars, validates every row and reference, and
//!   writes one transaction.
//! - [`store`]: persistence behind one interface with two back-ends, SQLite
//!   (default) and PostgreSQL; migrations, fingerprint, the pipeline as of a
//!   past date.
//! - [`features`]: everything loaded once and interned ([`features::SalesData`]),
//!   monthly series, as-of pipelines, deal features; the only place model
//!   matrices are built.
//! - [`forecast`]: baselines, ETS/Theta, the global and pipeline models,
//!   simulation of sample paths, roll-up, walk-forward backtests, runs.
//! - [`registry`]: versioned model artifacts under `models/`.
//! - [`scoring`]: calibrated win probabilities and their drivers.
//! - [`coaching`]: the coaching-priority list and its evaluation.
//! - [`commission`]: comp plans, exact statements, payouts projected over
//!   the forecast's sample paths.
//! - [`api`]: the REST API (axum): routes, bearer tokens with roles and
//!   scopes, problem+json errors, OpenAPI, metrics, graceful shutdown.
//! - [`report`]: charts (plotters, SVG and PNG with a bundled font), the
//!   `attain report` folder and the dashboard's page.
//! - [`sim`]: the seeded synthetic-organisation generator with planted
//!   ground truth.
//! - [`cli`]: what each command prints, in table, JSON or CSV form.
//!
//! Invariants: money is never `f64` (`Decimal` in memory, integer cents in
//! the database); everything is computed as of a date from history
//! snapshots; randomness is seeded by the caller.

pub mod api;
pub mod cli;
pub mod coaching;
pub mod commission;
pub mod config;
pub mod domain;
pub mod features;
pub mod forecast;
pub mod ingest;
pub mod registry;
pub mod report;
pub mod scoring;
pub mod sim;
pub mod store;
