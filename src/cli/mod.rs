//! The command line: global options, one file per command (its clap
//! arguments and a short function that calls the library's jobs and
//! prints), and the few helpers they share. Printing goes through
//! [`attain::output`], so a command's table, JSON and CSV come from one
//! place the API shares.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use attain::config::{RawSettings, Settings};
use attain::domain::{DEFAULT_SEED, Horizon, ParamError, Period};
use attain::jobs::{TrainParams, ValidTrainParams};

/// Writes to stdout. When the reader has gone (`attain score | head`), the
/// program ends quietly instead of panicking on the closed pipe.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            return Err(e.into());
        }
    }};
}

/// [`out!`] with a newline.
macro_rules! outln {
    () => { out!("\n") };
    ($($arg:tt)*) => {{
        out!($($arg)*);
        out!("\n");
    }};
}

mod backtest;
mod call;
mod changes;
mod close;
mod coach;
mod commissions;
mod demo;
mod forecast;
mod generate;
mod ingest;
mod pipeline;
mod plan;
mod report;
mod score;
mod serve;
mod status;
mod token;
mod train;
mod worker;

/// The parsed command line.
#[derive(Parser)]
#[command(
    name = "attain",
    version,
    about = "Sales forecasting and predictive analytics for Sales Performance Management"
)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// Whether the command is `attain serve` (which logs each request) or
    /// `attain worker` (which logs each job).
    pub fn serves(&self) -> bool {
        matches!(self.command, Command::Serve(_) | Command::Worker(_))
    }
}

/// Options every command takes.
#[derive(Args)]
struct Global {
    /// Store URL: sqlite://PATH or postgres://USER@HOST/DB [default: sqlite file attain.db in the data dir]
    #[arg(long, global = true, env = "ATTAIN_DATABASE_URL")]
    db: Option<String>,
    /// Folder for the default store, models and reports [default: ./.attain]
    #[arg(long, global = true, env = "ATTAIN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// TOML settings file (keys: database_url, data_dir, fiscal_year_start_month, max_reported_errors, models_dir)
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Folder of trained model versions [default: ./models]
    #[arg(long, global = true, env = "ATTAIN_MODELS_DIR")]
    models_dir: Option<PathBuf>,
}

impl Global {
    /// The settings: defaults, then the file, the environment, the flags.
    fn settings(&self) -> Result<Settings> {
        let mut raw = RawSettings::default();
        if let Some(path) = &self.config {
            raw = raw.overlay(RawSettings::from_file(path)?);
        }
        raw = raw.overlay(RawSettings::from_env()?);
        raw = raw.overlay(RawSettings {
            database_url: self.db.clone(),
            data_dir: self.data_dir.clone(),
            models_dir: self.models_dir.clone(),
            ..Default::default()
        });
        Ok(raw.validate()?)
    }

    /// The settings and the training settings of `model`, backtesting the
    /// default horizon: what the commands that may train first need.
    fn with_model(&self, model: ModelArgs) -> Result<(Settings, ValidTrainParams)> {
        Ok((
            self.settings()?,
            model.train_params(Horizon::DEFAULT.get())?,
        ))
    }
}

/// Settings shared by the model commands.
#[derive(Args, Clone, Copy)]
struct ModelArgs {
    /// Walk-forward origins (most recent month ends) the backtest runs
    #[arg(long, default_value_t = TrainParams::default().origins)]
    origins: usize,
    /// Sample paths per backtest origin
    #[arg(long, default_value_t = TrainParams::default().backtest_paths)]
    backtest_paths: usize,
    /// Random seed
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
}

impl ModelArgs {
    /// The training settings, checked, with `horizon` as the longest
    /// horizon backtested.
    fn train_params(self, horizon: usize) -> Result<ValidTrainParams> {
        TrainParams {
            horizon,
            origins: self.origins,
            backtest_paths: self.backtest_paths,
            seed: self.seed,
        }
        .check()
        .map_err(flag)
    }
}

#[derive(Subcommand)]
enum Command {
    /// The tour: generate the sample organisation if absent, ingest, train, forecast, write the
    /// reports, then serve the API and dashboard (printing the URL and an admin token)
    Demo(demo::DemoArgs),
    /// Every chart as SVG and PNG, and an index.html showing them all
    Report(report::ReportArgs),
    /// Write a synthetic organisation in the native format, plus truth.csv
    Generate(generate::GenerateArgs),
    /// Rows per table, date range and fingerprint of the stored data
    Status(status::StatusArgs),
    /// Load files or folders; all-or-nothing per call; re-ingesting the same data changes nothing
    Ingest(ingest::IngestArgs),
    /// Backtest every model as of a day, select per horizon and per rep, reconcile the levels, fit and register the models
    Train(train::TrainArgs),
    /// Probabilistic forecasts per entity and period (P10/P50/P90, mean), stored as a run
    Forecast(forecast::ForecastArgs),
    /// Walk-forward accuracy of every model and baseline, per level and horizon
    Backtest(backtest::BacktestArgs),
    /// Win probability of every open deal, with the factors behind it
    Score(score::ScoreArgs),
    /// Reps ranked by P(miss quota) x expected shortfall, with reasons in money
    Coach(coach::CoachArgs),
    /// Commissions: projected payouts per rep or level, a rep's statement, a what-if on one deal;
    /// and the close: close, publish, adjust, dispute, resolve, export, versions
    Commissions(commissions::CommissionsArgs),
    /// Who changed what when: plan versions, closes, publishes, adjustments, disputes, tokens, ingests
    Audit(close::AuditArgs),
    /// The REST API (bearer tokens; the OpenAPI document at /openapi.json)
    Serve(serve::ServeArgs),
    /// API tokens: create (printed once, stored as a hash), list, revoke
    Token {
        #[command(subcommand)]
        action: token::TokenAction,
    },
    /// The deals as they stood on a past date, rebuilt from history snapshots
    Pipeline(pipeline::PipelineArgs),
    /// Forecast calls: submit one (a person's number for a period), or list the roll-up beside the model
    Call {
        #[command(subcommand)]
        action: call::CallAction,
    },
    /// What changed between two days for a period: the pipeline's moves with their deals, the forecast's and the calls' change
    Changes(changes::ChangesArgs),
    /// Planning: quotas that add up to a target, a candidate comp plan costed, territory balance
    Plan {
        #[command(subcommand)]
        action: plan::PlanAction,
    },
    /// Claim and run queued jobs (training, scheduled refreshes) from the store, beside any `attain serve`
    Worker(worker::WorkerArgs),
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<()> {
    let global = &cli.global;
    match cli.command {
        Command::Demo(args) => demo::run(global, args).await,
        Command::Report(args) => report::run(global, args).await,
        Command::Generate(args) => generate::run(args),
        Command::Status(args) => status::run(global, args).await,
        Command::Ingest(args) => ingest::run(global, args).await,
        Command::Train(args) => train::run(global, args).await,
        Command::Forecast(args) => forecast::run(global, args).await,
        Command::Backtest(args) => backtest::run(global, args).await,
        Command::Score(args) => score::run(global, args).await,
        Command::Coach(args) => coach::run(global, args).await,
        Command::Commissions(args) => commissions::run(global, args).await,
        Command::Audit(args) => close::audit(global, args).await,
        Command::Serve(args) => serve::run(global, args).await,
        Command::Token { action } => token::run(global, action).await,
        Command::Pipeline(args) => pipeline::run(global, args).await,
        Command::Worker(args) => worker::run(global, args).await,
        Command::Call { action } => call::run(global, action).await,
        Command::Changes(args) => changes::run(global, args).await,
        Command::Plan { action } => plan::run(global, action).await,
    }
}

/// A setting out of range, named as its flag (`--horizon 30 is not in 1..24`).
fn flag(e: ParamError) -> anyhow::Error {
    anyhow::anyhow!("--{} {e}", e.field.replace('_', "-"))
}

/// `--period`: a month or a quarter, when given.
fn period_arg(period: Option<String>) -> Result<Option<Period>> {
    period
        .map(|p| Period::parse(&p).with_context(|| format!("--period {p:?}")))
        .transpose()
}

/// `--addr`, when given, over the `listen_addr` setting.
fn listen_on(settings: &mut Settings, addr: Option<String>) -> Result<()> {
    if let Some(a) = addr {
        settings.listen_addr = a
            .parse()
            .with_context(|| format!("--addr {a:?} is not HOST:PORT"))?;
    }
    Ok(())
}

/// `day`, or the last day of the stored data when none is given.
async fn day_or_last(
    store: &attain::store::Store,
    day: Option<chrono::NaiveDate>,
) -> Result<chrono::NaiveDate> {
    let last = store.status().await?.last_date;
    match day {
        Some(d) => {
            // A day well after the data: nothing after its last activity is
            // known, and months without data would read as months of zero.
            if let Some(last) = last.filter(|l| (d - *l).num_days() > 31) {
                eprintln!(
                    "note: {d} is {} days after the data's last activity ({last}); nothing after {last} is known",
                    (d - last).num_days()
                );
            }
            Ok(d)
        }
        None => last.context("the store holds no data yet: run attain ingest first"),
    }
}

/// Whether long work may draw a progress bar (stderr is a terminal).
fn progress() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}
