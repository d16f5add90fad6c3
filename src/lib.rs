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
//!   simulation of sample paths, roll-up, walk-forward backtests. Knows
//!   nothing of scoring.
//! - [`scoring`]: calibrated win probabilities and their drivers.
//! - [`coaching`]: the coaching-priority list: risk, reasons in money, a
//!   rep's decline against their own past.
//! - [`commission`]: exact statements, payouts projected over the
//!   forecast's sample paths.
//! - [`calls`]: forecast calls: who may call what, the roll-up of calls
//!   under a person beside the model.
//! - [`jobs`]: the use cases the CLI and the API share (train and
//!   register, forecast, score, coach and its evaluation, commissions) and
//!   the model registry.
//! - [`planning`]: quota proposals, comp-plan scenarios and territory
//!   balance from the forecast's sample paths.
//! - [`output`]: what attain prints: tables, JSON and CSV rows.
//! - [`report`]: charts (plotters, SVG and PNG with a bundled font), the
//!   `attain report` folder and the dashboard's page.
//! - [`api`]: the REST API (axum): routes, bearer tokens with roles and
//!   scopes, problem+json errors, OpenAPI, metrics, graceful shutdown.
//! - [`sim`]: the seeded synthetic-organisation generator with planted
//!   ground truth.
//!
//! Layers, each importing only those before it: `domain` <- `store` <-
//! `ingest`, `features` <- models (`forecast`, `scoring`, then `coaching`,
//! `commission`, `calls` and `planning`) <- `jobs` <- `output`, `report` <- `api` (and the
//! binary's `cli`). `config` is read by all; `sim` writes files `ingest`
//! reads.
//!
//! Invariants: money is never `f64` (`Decimal` in memory, integer cents in
//! the database); everything is computed as of a date from history
//! snapshots; randomness is seeded by the caller.

#![warn(missing_docs)]

pub mod api;
pub mod calls;
pub mod coaching;
pub mod commission;
pub mod config;
pub mod domain;
pub mod features;
pub mod forecast;
pub mod ingest;
pub mod jobs;
pub mod output;
pub mod planning;
pub mod report;
pub mod scoring;
pub mod sim;
pub mod store;
