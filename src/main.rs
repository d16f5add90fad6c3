//! The `attain` command line: parses arguments, builds settings, calls the
//! library, prints. Nothing else lives here.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use attain::cli::{self, OutputFormat};
use attain::config::{RawSettings, Settings};
use attain::ingest::{self, IngestError, IngestOptions, Mapping};
use attain::sim::{self, OrgParams};
use attain::store::Store;

#[derive(Parser)]
#[command(
    name = "attain",
    version,
    about = "Sales forecasting and predictive analytics for Sales Performance Management"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// Store URL: sqlite://PATH or postgres://USER@HOST/DB [default: sqlite file attain.db in the data dir]
    #[arg(long, global = true, env = "ATTAIN_DATABASE_URL")]
    db: Option<String>,
    /// Folder for the default store, models and reports [default: ./.attain]
    #[arg(long, global = true, env = "ATTAIN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// TOML settings file (keys: database_url, data_dir, fiscal_year_start_month, max_reported_errors)
    #[arg(long, global = true)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the sample organisation if absent, ingest it and show what was loaded
    Demo {
        /// Where the sample organisation is written [default: DATA_DIR/sample]
        #[arg(long)]
        sample_dir: Option<PathBuf>,
    },
    /// Write a synthetic organisation in the native format, plus truth.csv
    Generate {
        /// Output folder
        #[arg(long)]
        out: PathBuf,
        /// Quota-carrying reps in seat at any time
        #[arg(long, default_value_t = 60)]
        reps: usize,
        /// Months simulated
        #[arg(long, default_value_t = 36)]
        months: u32,
        /// Random seed (same seed, same files)
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// First month, YYYY-MM
        #[arg(long, default_value = "2023-01")]
        start: String,
        /// Average deals created per ramped rep per month
        #[arg(long, default_value_t = 3.0)]
        deals_per_rep_month: f64,
    },
    /// Rows per table, date range and fingerprint of the stored data
    Status {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Load files or folders; all-or-nothing per call; re-ingesting the same data changes nothing
    Ingest {
        /// Files (.csv, .parquet) or folders holding them
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// A built-in layout: native or salesforce
        #[arg(long, default_value = "native", conflicts_with = "mapping")]
        preset: String,
        /// A TOML column mapping for any other layout
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// Date of the history snapshots added for deals whose state changed
        /// (the export's date) [default: today]
        #[arg(long)]
        as_of: Option<NaiveDate>,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// The deals as they stood on a past date, rebuilt from history snapshots
    Pipeline {
        /// The date [default: the last date in the data]
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Only this rep's deals
        #[arg(long)]
        rep: Option<String>,
        /// Include deals already won or lost on that date
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

fn settings(global: &Global) -> Result<Settings> {
    let mut raw = RawSettings::default();
    if let Some(path) = &global.config {
        raw = raw.overlay(RawSettings::from_file(path)?);
    }
    raw = raw.overlay(RawSettings::from_env()?);
    raw = raw.overlay(RawSettings {
        database_url: global.db.clone(),
        data_dir: global.data_dir.clone(),
        ..Default::default()
    });
    Ok(raw.validate()?)
}

/// How the CLI ingests: snapshots dated `as_of` (today unless given), the
/// configured error limit, the default read window.
fn ingest_options(
    settings: &Settings,
    mapping: Mapping,
    as_of: Option<NaiveDate>,
    progress: bool,
) -> IngestOptions {
    IngestOptions {
        mapping,
        snapshot_date: as_of.unwrap_or_else(|| chrono::Local::now().date_naive()),
        max_problems: settings.max_reported_errors,
        progress,
        window_rows: ingest::WINDOW_ROWS,
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ATTAIN_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let causes: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("error: {}", causes.join(": "));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let progress = std::io::stderr().is_terminal();
    match cli.command {
        Command::Generate {
            out,
            reps,
            months,
            seed,
            start,
            deals_per_rep_month,
        } => {
            let start = NaiveDate::parse_from_str(&format!("{start}-01"), "%Y-%m-%d")
                .with_context(|| format!("--start {start:?} is not YYYY-MM"))?;
            let org = sim::generate_to(
                OrgParams {
                    reps,
                    months,
                    seed,
                    start,
                    deals_per_rep_month,
                },
                &out,
            )?;
            println!(
                "wrote {} people, {} opportunities, {} history snapshots, {} bookings, {} quotas, {} planted patterns to {} (data ends {})",
                org.people.len(),
                org.deals.len(),
                org.deals.iter().map(|d| d.history.len()).sum::<usize>(),
                org.bookings.len(),
                org.quotas.len(),
                org.truth.len(),
                out.display(),
                org.end
            );
        }
        Command::Status { format } => {
            let settings = settings(&cli.global)?;
            let store = Store::connect(&settings.database_url).await?;
            let status = store.status().await?;
            print!(
                "{}",
                cli::render(format, &status, &cli::status_grid(&status))
            );
        }
        Command::Ingest {
            paths,
            preset,
            mapping,
            as_of,
            format,
        } => {
            let settings = settings(&cli.global)?;
            let mapping = match mapping {
                Some(path) => Mapping::from_file(&path)?,
                None => match Mapping::preset(&preset) {
                    Some(m) => m,
                    None => bail!("unknown preset {preset:?}: use native or salesforce"),
                },
            };
            let store = Store::connect(&settings.database_url).await?;
            let options = ingest_options(&settings, mapping, as_of, progress);
            match ingest::ingest(&store, &paths, &options).await {
                Ok(summary) => {
                    print!(
                        "{}",
                        cli::render(format, &summary, &cli::ingest_grid(&summary))
                    );
                    if format == OutputFormat::Table {
                        print!("{}", cli::ingest_footer(&summary));
                    }
                }
                Err(IngestError::Invalid(report)) => {
                    if format == OutputFormat::Json {
                        println!("{}", serde_json::to_string_pretty(&report)?);
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
        }
        Command::Pipeline {
            as_of,
            rep,
            all,
            format,
        } => {
            let settings = settings(&cli.global)?;
            let store = Store::connect(&settings.database_url).await?;
            let date = match as_of {
                Some(d) => d,
                None => match store.status().await?.last_date {
                    Some(d) => d,
                    None => bail!("the store holds no deals yet: run attain ingest first"),
                },
            };
            let mut deals = store.opportunities_as_of(date).await?;
            deals.retain(|d| {
                (all || !d.status.is_closed())
                    && rep.as_deref().is_none_or(|r| d.rep_id.as_str() == r)
            });
            let view = cli::PipelineView {
                as_of: date,
                opportunities: &deals,
            };
            print!(
                "{}",
                cli::render(format, &view, &cli::pipeline_grid(&deals))
            );
        }
        Command::Demo { sample_dir } => {
            let settings = settings(&cli.global)?;
            let dir = sample_dir.unwrap_or_else(|| settings.data_dir.join("sample"));
            if !dir.join("opportunities.csv").exists() {
                eprintln!("generating the sample organisation in {}", dir.display());
                sim::generate_to(OrgParams::default(), &dir)?;
            }
            let store = Store::connect(&settings.database_url).await?;
            let options = ingest_options(&settings, Mapping::native(), None, progress);
            let summary = ingest::ingest(&store, std::slice::from_ref(&dir), &options).await?;
            println!("ingested {} into {}", dir.display(), settings.database_url);
            print!("{}", cli::ingest_grid(&summary).to_table());
            print!("{}", cli::ingest_footer(&summary));
            let status = store.status().await?;
            println!();
            print!("{}", cli::status_grid(&status).to_table());
            if let Some(last) = status.last_date {
                let open = store
                    .opportunities_as_of(last)
                    .await?
                    .into_iter()
                    .filter(|d| !d.status.is_closed())
                    .collect::<Vec<_>>();
                let value: i64 = open
                    .iter()
                    .filter_map(|d| d.amount)
                    .map(|a| a.cents())
                    .sum();
                println!(
                    "\nopen pipeline on {last}: {} deals worth {}",
                    open.len(),
                    attain::domain::Money::from_cents(value)
                );
            }
            store.close().await;
        }
    }
    Ok(())
}
