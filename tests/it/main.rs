//! attain's integration tests: one binary, grouped by area.
//!
//! Storage tests run on SQLite always and on PostgreSQL when one answers at
//! `ATTAIN_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//! With `ATTAIN_REQUIRE_POSTGRES=1` (as `.ci/run` sets) an unreachable
//! PostgreSQL fails those tests instead of skipping them.

mod api;
mod calls;
mod changes;
mod cli;
mod close;
mod coaching;
mod commission;
mod credit;
mod currency;
mod flat;
mod forecast;
mod helpers;
mod ingest;
mod measures;
mod org_history;
mod planning;
mod report;
mod salesforce;
mod serving;
mod short_exports;
mod sim;
mod store;
