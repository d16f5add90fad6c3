//! `attain ingest`: load files or folders, all or nothing.

use std::path::PathBuf;

use anyhow::{Result, bail};
use chrono::NaiveDate;
use clap::Args;

use attain::config::Settings;
use attain::ingest::{self, IngestError, IngestOptions, Mapping};
use attain::output::{self, OutputFormat};
use attain::store::Store;

use super::Global;

#[derive(Args)]
pub struct IngestArgs {
    /// Files (.csv, .parquet) or folders holding them
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// A built-in layout: native, salesforce, hubspot or pipedrive
    #[arg(long, default_value = "native", conflicts_with = "mapping")]
    preset: String,
    /// A TOML column mapping for any other layout
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// The export's date, which snapshots of deals whose state changed
    /// carry [default: the latest activity in the files: a deal created or
    /// closed, a snapshot, a booking]
    #[arg(long)]
    as_of: Option<NaiveDate>,
    /// Check everything and show what would change; store nothing
    #[arg(long)]
    dry_run: bool,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

/// How the CLI ingests: snapshots dated `as_of` (the export's own date
/// unless given), the configured error limit, the default read window.
pub fn options(settings: &Settings, mapping: Mapping, as_of: Option<NaiveDate>) -> IngestOptions {
    IngestOptions {
        mapping,
        snapshot_date: as_of,
        dry_run: false,
        max_problems: settings.max_reported_errors,
        progress: super::progress(),
        window_rows: ingest::WINDOW_ROWS,
        fiscal: settings.fiscal,
        actor: super::close::cli_actor(),
        currency: settings.currency.clone(),
    }
}

pub async fn run(global: &Global, args: IngestArgs) -> Result<()> {
    let settings = global.settings()?;
    let mapping = match &args.mapping {
        Some(path) => Mapping::from_file(path)?,
        None => match Mapping::preset(&args.preset) {
            Some(m) => m,
            None => bail!(
                "unknown preset {:?}: use one of {}",
                args.preset,
                Mapping::PRESETS.join(", ")
            ),
        },
    };
    let store = Store::connect(&settings.database_url).await?;
    let options = IngestOptions {
        dry_run: args.dry_run,
        ..options(&settings, mapping, args.as_of)
    };
    let format = args.format;
    match ingest::ingest(&store, &args.paths, &options).await {
        Ok(summary) => {
            out!(
                "{}",
                output::render(format, &summary, &output::ingest_grid(&summary))
            );
            if format == OutputFormat::Table {
                out!("{}", output::ingest_footer(&summary));
            }
        }
        Err(IngestError::Invalid(report)) => {
            if format == OutputFormat::Json {
                outln!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                eprint!("{report}");
            }
            store.close().await;
            bail!(
                "ingest rejected: {} problem(s), nothing was stored",
                report.total
            );
        }
        Err(other) => return Err(other.into()),
    }
    store.close().await;
    Ok(())
}
