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
use attain::features::Level;
use attain::forecast::TrainParams;
use attain::forecast::backtest::BacktestParams;
use attain::forecast::runs;
use attain::ingest::{self, IngestError, IngestOptions, Mapping};
use attain::scoring::ScoringParams;
use attain::sim::{self, OrgParams};
use attain::store::{ForecastFilter, Store};
use chrono::Datelike;

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
    /// TOML settings file (keys: database_url, data_dir, fiscal_year_start_month, max_reported_errors, models_dir)
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Folder of trained model versions [default: ./models]
    #[arg(long, global = true, env = "ATTAIN_MODELS_DIR")]
    models_dir: Option<PathBuf>,
}

/// Settings shared by the model commands.
#[derive(Args, Clone, Copy)]
struct ModelArgs {
    /// Walk-forward origins (most recent month ends) the backtest runs
    #[arg(long, default_value_t = 18)]
    origins: usize,
    /// Sample paths per backtest origin
    #[arg(long, default_value_t = 100)]
    backtest_paths: usize,
    /// Random seed
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

#[derive(Subcommand)]
enum Command {
    /// The tour: generate the sample organisation if absent, ingest, train, forecast, write the
    /// reports, then serve the API and dashboard (printing the URL and an admin token)
    Demo {
        /// Where the sample organisation is written [default: DATA_DIR/sample]
        #[arg(long)]
        sample_dir: Option<PathBuf>,
        /// Listen address, HOST:PORT [default: listen_addr setting, or 127.0.0.1:8080]
        #[arg(long, env = "ATTAIN_LISTEN_ADDR")]
        addr: Option<String>,
        /// Stop after writing the reports instead of serving
        #[arg(long)]
        no_serve: bool,
    },
    /// Every chart as SVG and PNG, and an index.html showing them all
    Report {
        /// Output folder (made if missing)
        #[arg(long)]
        out: PathBuf,
        /// As of this day [default: the last day of data]
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// YYYY-MM or YYYY-Qn for the attainment, coaching, waterfall and payout charts
        /// [default: each chart's own]
        #[arg(long)]
        period: Option<String>,
        /// Months forecast when no forecast run as of the day is stored
        #[arg(long, default_value_t = 12)]
        horizon: usize,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
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
    /// Backtest every model as of a day, select one per horizon, fit and register the models
    Train {
        /// Train on what was known on this day [default: the last day of data]
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Longest horizon backtested and selected for, in months (1..24)
        #[arg(long, default_value_t = 12)]
        horizon: usize,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Probabilistic forecasts per entity and period (P10/P50/P90, mean), stored as a run
    Forecast {
        /// Forecast from what was known on this day [default: the last day of data]
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Only this level: rep, manager, territory, region, company [default: company, or any with --id]
        #[arg(long)]
        level: Option<String>,
        /// Only this entity (rep id, manager's rep id, territory id, region name, company)
        #[arg(long)]
        id: Option<String>,
        /// Months ahead (1..24)
        #[arg(long, default_value_t = 12)]
        horizon: usize,
        /// Only this period, YYYY-MM or YYYY-Qn
        #[arg(long)]
        period: Option<String>,
        /// Sample paths
        #[arg(long, default_value_t = 1000)]
        paths: usize,
        /// Show a stored run instead of forecasting anew
        #[arg(long)]
        run: Option<i64>,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Walk-forward accuracy of every model and baseline, per level and horizon
    Backtest {
        /// First origin (month end on or after this day) [default: 18 origins before --to]
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Last day of data the backtest may see [default: the last day of data]
        #[arg(long)]
        to: Option<NaiveDate>,
        /// Only this level
        #[arg(long)]
        level: Option<String>,
        /// Only this horizon; without it, every horizon up to 12 is scored and averaged
        #[arg(long)]
        horizon: Option<usize>,
        /// Show each horizon on its own line
        #[arg(long)]
        by_horizon: bool,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Win probability of every open deal, with the factors behind it
    Score {
        /// Score the deals open on this day [default: the last day of data]
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Only this rep's deals
        #[arg(long)]
        rep: Option<String>,
        /// Drivers shown per deal
        #[arg(long, default_value_t = 3)]
        drivers: usize,
        /// Print the model's holdout evaluation (AUC, Brier, log loss,
        /// calibration error, reliability table) instead of the deals
        #[arg(long)]
        evaluate: bool,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Reps ranked by P(miss quota) x expected shortfall, with reasons in money
    Coach {
        /// As of this day [default: the last day of data]
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Only reps under this manager (directly or through other managers)
        #[arg(long)]
        manager: Option<String>,
        /// YYYY-MM or YYYY-Qn [default: the quarter of the day after --as-of]
        #[arg(long)]
        period: Option<String>,
        /// Sample paths
        #[arg(long, default_value_t = 1000)]
        paths: usize,
        /// Days without a stage change that make a deal stale
        #[arg(long, default_value_t = 30)]
        stale_days: i64,
        /// Rank by the money at risk this period (priority) or by the
        /// evidence that a rep's business fell against their own past
        /// (decline)
        #[arg(long, value_enum, default_value_t)]
        rank_by: attain::coaching::RankBy,
        /// Evaluate the list instead: P(miss quota) AUC over past quarters
        /// and, with --truth, precision@k against planted declining reps
        #[arg(long)]
        evaluate: bool,
        /// The generator's truth.csv (with --evaluate)
        #[arg(long)]
        truth: Option<PathBuf>,
        /// Past quarters to evaluate (with --evaluate)
        #[arg(long, default_value_t = 4)]
        quarters: usize,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Commissions: projected payouts per rep or level, a rep's statement, or a what-if on one deal
    Commissions {
        /// As of this day [default: the last day of data]
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// YYYY-MM or YYYY-Qn [default: the quarter of the day after --as-of]
        #[arg(long)]
        period: Option<String>,
        /// Only this rep (the rep of --statement)
        #[arg(long)]
        rep: Option<String>,
        /// Roll payouts up to: rep, manager, territory, region, company
        #[arg(long, default_value = "rep")]
        level: String,
        /// Only this entity at --level (a manager, territory or region id)
        #[arg(long, conflicts_with = "rep")]
        id: Option<String>,
        /// Print the rep's statement line by line instead (needs --rep)
        #[arg(long, requires = "rep")]
        statement: bool,
        /// Payout change if this open deal closes won
        #[arg(long, conflicts_with_all = ["statement", "what_if_lose"])]
        what_if_win: Option<String>,
        /// Payout change if this open deal is lost
        #[arg(long, conflicts_with = "statement")]
        what_if_lose: Option<String>,
        /// Sample paths
        #[arg(long, default_value_t = 1000)]
        paths: usize,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// The REST API (bearer tokens; the OpenAPI document at /openapi.json)
    Serve {
        /// Listen address, HOST:PORT [default: listen_addr setting, or 127.0.0.1:8080]
        #[arg(long, env = "ATTAIN_LISTEN_ADDR")]
        addr: Option<String>,
    },
    /// API tokens: create (printed once, stored as a hash), list, revoke
    Token {
        #[command(subcommand)]
        action: TokenAction,
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

#[derive(Subcommand)]
enum TokenAction {
    /// Make a token; it is printed alone on the last line of stdout, once
    Create {
        /// admin, leader, manager, finance or rep
        #[arg(long)]
        role: String,
        /// The manager (for a manager token) or rep (for a rep token) it is limited to
        #[arg(long)]
        scope: Option<String>,
        /// A label: who or what uses it
        #[arg(long)]
        name: Option<String>,
    },
    /// Every token (ids, roles, scopes; never the tokens)
    List {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Revoke a token by its id (from `attain token list`); effective at once
    Revoke {
        /// The token id
        token_id: String,
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
        models_dir: global.models_dir.clone(),
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
        fiscal: settings.fiscal,
    }
}

/// `--period`: a month or a quarter, when given.
fn period_arg(period: Option<String>) -> Result<Option<attain::domain::Period>> {
    period
        .map(|p| attain::domain::Period::parse(&p).with_context(|| format!("--period {p:?}")))
        .transpose()
}

/// `--paths`: sample paths per rep.
fn check_paths(paths: usize) -> Result<()> {
    if !attain::forecast::PATHS.contains(&paths) {
        bail!("--paths {paths} is not in 10..100000");
    }
    Ok(())
}

fn train_params(model: ModelArgs, horizon: usize) -> Result<TrainParams> {
    if !(1..=24).contains(&horizon) {
        bail!("--horizon {horizon} is not in 1..24");
    }
    if !(1..=120).contains(&model.origins) {
        bail!("--origins {} is not in 1..120", model.origins);
    }
    if !(10..=10_000).contains(&model.backtest_paths) {
        bail!(
            "--backtest-paths {} is not in 10..10000",
            model.backtest_paths
        );
    }
    Ok(TrainParams {
        backtest: BacktestParams {
            horizon,
            origins: model.origins,
            paths: model.backtest_paths,
            seed: model.seed,
            ..BacktestParams::default()
        },
        scoring: ScoringParams {
            seed: model.seed,
            ..ScoringParams::default()
        },
    })
}

/// What `attain forecast --format json` prints.
#[derive(serde::Serialize)]
struct ForecastView<'a> {
    run_id: i64,
    as_of: NaiveDate,
    model_version: &'a str,
    forecasts: &'a [attain::forecast::ForecastRow],
}

/// What `attain backtest --format json` prints.
#[derive(serde::Serialize)]
struct BacktestView<'a> {
    as_of: NaiveDate,
    metrics: &'a [attain::forecast::backtest::MetricRow],
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs each request at info; other commands only warnings.
    // ATTAIN_LOG overrides the filter; ATTAIN_LOG_FORMAT=json writes one
    // JSON object per line (span fields such as the request id included).
    let default_filter = match cli.command {
        Command::Serve { .. } => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ATTAIN_LOG")
        .unwrap_or_else(|_| default_filter.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if std::env::var("ATTAIN_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
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
            outln!(
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
            out!(
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
                    out!(
                        "{}",
                        cli::render(format, &summary, &cli::ingest_grid(&summary))
                    );
                    if format == OutputFormat::Table {
                        out!("{}", cli::ingest_footer(&summary));
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
        }
        Command::Serve { addr } => {
            let mut settings = settings(&cli.global)?;
            listen_on(&mut settings, addr)?;
            let store = Store::connect(&settings.database_url).await?;
            let addr = settings.listen_addr;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            let state = std::sync::Arc::new(attain::api::AppState::new(store.clone(), settings));
            eprintln!(
                "attain {} serving http://{} (OpenAPI at /openapi.json); Ctrl-C or SIGTERM stops it",
                env!("CARGO_PKG_VERSION"),
                listener.local_addr()?
            );
            attain::api::serve(listener, state, attain::api::shutdown_signal()).await?;
            store.close().await;
            eprintln!("stopped");
        }
        Command::Token { action } => {
            let settings = settings(&cli.global)?;
            let store = Store::connect(&settings.database_url).await?;
            match action {
                TokenAction::Create { role, scope, name } => {
                    let role: attain::api::Role = role.parse().map_err(anyhow::Error::msg)?;
                    let (record, token) =
                        attain::api::create_token(&store, role, scope.as_deref(), name.as_deref())
                            .await?;
                    outln!(
                        "created {} token {}{} (shown once; revoke with attain token revoke {}):",
                        record.role,
                        record.token_id,
                        record
                            .scope
                            .as_deref()
                            .map(|s| format!(" limited to {s}"))
                            .unwrap_or_default(),
                        record.token_id
                    );
                    outln!("{token}");
                }
                TokenAction::List { format } => {
                    let tokens = store.tokens().await?;
                    let mut grid = cli::Grid::new(&[
                        "token_id",
                        "name",
                        "role",
                        "scope",
                        "created_at",
                        "revoked_at",
                    ]);
                    for t in &tokens {
                        grid.push(vec![
                            t.token_id.clone(),
                            t.name.clone(),
                            t.role.clone(),
                            t.scope.clone().unwrap_or_default(),
                            t.created_at.clone(),
                            t.revoked_at.clone().unwrap_or_default(),
                        ]);
                    }
                    out!("{}", cli::render(format, &tokens, &grid));
                }
                TokenAction::Revoke { token_id } => {
                    if !store.revoke_token(&token_id).await? {
                        store.close().await;
                        bail!("no live token with id {token_id:?} (see attain token list)");
                    }
                    outln!("revoked token {token_id}");
                }
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
            out!(
                "{}",
                cli::render(format, &view, &cli::pipeline_grid(&deals))
            );
        }
        Command::Train {
            as_of,
            horizon,
            model,
            format,
        } => {
            let settings = settings(&cli.global)?;
            let store = Store::connect(&settings.database_url).await?;
            let params = train_params(model, horizon)?;
            let runs::Trained {
                model: trained,
                scoring,
                scoring_skipped,
            } = runs::train(&store, &settings, as_of, params).await?;
            store.close().await;
            let scoring_view = scoring.as_ref().map(|s| cli::ScoringView {
                model_version: &trained.version,
                as_of: s.as_of,
                model: s.kind,
                report: &s.report,
            });
            if format == OutputFormat::Json {
                #[derive(serde::Serialize)]
                struct TrainView<'a> {
                    #[serde(flatten)]
                    model: &'a attain::forecast::TrainedModel,
                    scoring: Option<cli::ScoringView<'a>>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    scoring_skipped: Option<&'a str>,
                }
                let view = TrainView {
                    model: &trained,
                    scoring: scoring_view,
                    scoring_skipped: scoring_skipped.as_deref(),
                };
                outln!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                out!(
                    "{}",
                    cli::render(format, &trained, &cli::train_grid(&trained))
                );
            }
            if format == OutputFormat::Table {
                match (&scoring, &scoring_skipped) {
                    (Some(s), _) => {
                        outln!();
                        out!("{}", cli::scoring_grid(&s.report).to_table());
                        outln!(
                            "win probabilities: {} chosen on the validation window",
                            s.kind.as_str()
                        );
                    }
                    (None, Some(why)) => outln!("no win-probability model: {why}"),
                    (None, None) => {}
                }
                outln!(
                    "registered model {} in {} (as of {}, backtest {:.1} s over {} origins, fit {:.1} s)",
                    trained.version,
                    settings.models_dir.display(),
                    trained.as_of,
                    trained.seconds.get("backtest").copied().unwrap_or(0.0),
                    trained.origins.len(),
                    trained.seconds.get("fit").copied().unwrap_or(0.0),
                );
            }
        }
        Command::Forecast {
            as_of,
            level,
            id,
            horizon,
            period,
            paths,
            run,
            model,
            format,
        } => {
            let settings = settings(&cli.global)?;
            if let Some(l) = &level {
                l.parse::<Level>().map_err(anyhow::Error::msg)?;
            }
            if let Some(p) = &period {
                attain::domain::Period::parse(p).with_context(|| format!("--period {p:?}"))?;
            }
            let store = Store::connect(&settings.database_url).await?;
            let run_id = match run {
                Some(id) => id,
                None => {
                    let job = runs::forecast(
                        &store,
                        &settings,
                        runs::ForecastParams {
                            as_of,
                            horizon,
                            paths,
                            seed: model.seed,
                        },
                        train_params(model, 12)?,
                    )
                    .await?;
                    if job.trained {
                        eprintln!(
                            "no model trained as of {} was registered: trained {}",
                            job.run.as_of, job.run.model_version
                        );
                    }
                    job.run.run_id
                }
            };
            let filter = ForecastFilter {
                level: level
                    .clone()
                    .or_else(|| id.is_none().then(|| "company".to_owned())),
                entity_id: id.clone(),
                period: period
                    .map(|p| attain::domain::Period::parse(&p).map(|p| p.to_string()))
                    .transpose()?,
            };
            let stored = runs::stored(&store, Some(run_id), &filter).await?;
            store.close().await;
            let view = ForecastView {
                run_id: stored.run_id,
                as_of: stored.as_of,
                model_version: &stored.model_version,
                forecasts: &stored.forecasts,
            };
            out!(
                "{}",
                cli::render(format, &view, &cli::forecast_grid(&stored.forecasts))
            );
            if format == OutputFormat::Table {
                let h1 = stored
                    .backtest
                    .iter()
                    .find(|r| r.level == Level::Company && r.horizon == 1 && r.model == "attain");
                outln!(
                    "run {} as of {} with model {}{}",
                    stored.run_id,
                    stored.as_of,
                    stored.model_version,
                    h1.and_then(|r| r.mase)
                        .map(|m| format!("; backtest company MASE at 1 month: {m:.3}"))
                        .unwrap_or_default()
                );
            }
        }
        Command::Score {
            as_of,
            rep,
            drivers,
            evaluate,
            model,
            format,
        } => {
            let settings = settings(&cli.global)?;
            let params = train_params(model, 12)?;
            let store = Store::connect(&settings.database_url).await?;
            if evaluate {
                let (data, fingerprint) = runs::load(&store, &settings).await?;
                store.close().await;
                let registry = attain::registry::Registry::new(&settings.models_dir);
                let engine = attain::forecast::Engine::new(&data);
                let day = as_of.unwrap_or_else(|| engine.default_as_of());
                let (version, scoring) = tokio::task::block_in_place(|| {
                    runs::models_as_of(&data, &engine, &registry, day, params, &fingerprint, true)
                })
                .map(|(m, s, _)| (m.version, s))?;
                let scoring = scoring.context("no win-probability model")?;
                let view = cli::ScoringView {
                    model_version: &version,
                    as_of: scoring.as_of,
                    model: scoring.kind,
                    report: &scoring.report,
                };
                out!(
                    "{}",
                    cli::render(format, &view, &cli::scoring_grid(&scoring.report))
                );
                if format == OutputFormat::Table {
                    out!("{}", cli::reliability_grid(&scoring.report).to_table());
                    outln!(
                        "model {version}: {} chosen on the validation window; windows {:?}",
                        scoring.kind.as_str(),
                        scoring.report.windows
                    );
                }
                return Ok(());
            }
            let list = attain::scoring::run::score(
                &store,
                &settings,
                &attain::scoring::run::ScoreParams {
                    as_of,
                    rep,
                    drivers,
                },
                params,
            )
            .await?;
            store.close().await;
            out!(
                "{}",
                cli::render(format, &list, &cli::score_grid(&list.opportunities))
            );
        }
        Command::Coach {
            as_of,
            manager,
            period,
            paths,
            stale_days,
            rank_by,
            evaluate,
            truth,
            quarters,
            model,
            format,
        } => {
            let settings = settings(&cli.global)?;
            let params = train_params(model, 12)?;
            let period = period_arg(period)?;
            check_paths(paths)?;
            let coach = attain::coaching::run::CoachParams {
                as_of,
                manager,
                period,
                paths,
                seed: params.backtest.seed,
                stale_days,
                rank_by,
            };
            let store = Store::connect(&settings.database_url).await?;
            if evaluate {
                let (data, fingerprint) = runs::load(&store, &settings).await?;
                store.close().await;
                let registry = attain::registry::Registry::new(&settings.models_dir);
                let evaluation = tokio::task::block_in_place(|| -> Result<_> {
                    use attain::coaching::evaluate;
                    let day = as_of.unwrap_or(data.last_date);
                    let truth = match &truth {
                        Some(path) => {
                            let planted = evaluate::read_truth(path)?;
                            Some(evaluate::against_truth(
                                &data,
                                &fingerprint,
                                &registry,
                                &coach,
                                params,
                                &planted,
                            )?)
                        }
                        None => None,
                    };
                    let history =
                        evaluate::on_history(&data, &fingerprint, day, quarters, paths, params)?;
                    Ok(evaluate::Evaluation { truth, history })
                })?;
                out!(
                    "{}",
                    cli::render(format, &evaluation, &cli::coach_history_grid(&evaluation))
                );
                if format == OutputFormat::Table {
                    if let Some(t) = &evaluation.truth {
                        for r in &t.rankings {
                            outln!(
                                "planted declining reps ({} on the list of {} for {} as of {}), ranked by {}: precision@{} {:.2}, recall in the top 10% {:.2}",
                                t.planted,
                                t.listed,
                                t.period,
                                t.as_of,
                                r.ranked_by.as_str(),
                                t.k,
                                r.precision_at_k,
                                r.recall_top_10pct
                            );
                        }
                        outln!("reason                   planted  others");
                        for share in &t.reasons {
                            outln!(
                                "{:<24} {:>7.2} {:>7.2}",
                                share.code,
                                share.planted,
                                share.others
                            );
                        }
                    }
                }
                return Ok(());
            }
            let list = attain::coaching::run::coach(&store, &settings, &coach, params).await?;
            store.close().await;
            out!("{}", cli::render(format, &list, &cli::coach_grid(&list)));
        }
        Command::Commissions {
            as_of,
            period,
            rep,
            level,
            id,
            statement,
            what_if_win,
            what_if_lose,
            paths,
            model,
            format,
        } => {
            use attain::commission::run::{self as commission, CommissionParams, WhatIf};
            let settings = settings(&cli.global)?;
            let params = train_params(model, 12)?;
            let period = period_arg(period)?;
            let level: Level = level.parse().map_err(anyhow::Error::msg)?;
            if rep.is_some() && level != Level::Rep {
                bail!(
                    "--rep is for --level rep; use --id for a {}",
                    level.as_str()
                );
            }
            check_paths(paths)?;
            let what_if = match (what_if_win, what_if_lose) {
                (Some(o), _) => Some(WhatIf::Win(o)),
                (None, Some(o)) => Some(WhatIf::Lose(o)),
                _ => None,
            };
            let job = CommissionParams {
                as_of,
                period,
                id: rep.or(id),
                level,
                paths,
                seed: params.backtest.seed,
                what_if,
            };
            let store = Store::connect(&settings.database_url).await?;
            if statement {
                let st = commission::statement(&store, &settings, &job).await?;
                store.close().await;
                out!("{}", cli::render(format, &st, &cli::statement_grid(&st)));
                return Ok(());
            }
            let projection = commission::projection(&store, &settings, &job, params).await?;
            store.close().await;
            match (&projection.what_if, format) {
                (Some(w), OutputFormat::Table | OutputFormat::Csv) => {
                    out!("{}", cli::render(format, w, &cli::what_if_grid(w)));
                }
                _ => out!(
                    "{}",
                    cli::render(format, &projection, &cli::payout_grid(&projection))
                ),
            }
        }
        Command::Backtest {
            from,
            to,
            level,
            horizon,
            by_horizon,
            model,
            format,
        } => {
            let settings = settings(&cli.global)?;
            let level = level
                .map(|l| l.parse::<Level>())
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let mut params = train_params(model, horizon.unwrap_or(12))?.backtest;
            let store = Store::connect(&settings.database_url).await?;
            let to = match to {
                Some(d) => d,
                None => match store.status().await?.last_date {
                    Some(d) => d,
                    None => bail!("the store holds no data yet: run attain ingest first"),
                },
            };
            if let Some(from) = from {
                let months =
                    (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
                if months < 1 {
                    bail!("--from {from} must be at least a month before --to {to}");
                }
                params.origins = months as usize;
            }
            let (as_of, out) = runs::backtest(&store, &settings, Some(to), params).await?;
            store.close().await;
            let rows: Vec<_> = out
                .metrics
                .into_iter()
                .filter(|r| {
                    level.is_none_or(|l| r.level == l) && horizon.is_none_or(|h| r.horizon == h)
                })
                .collect();
            let lines: Vec<(String, attain::forecast::backtest::MetricRow)> =
                if by_horizon || horizon.is_some() {
                    rows.iter()
                        .map(|r| (r.horizon.to_string(), r.clone()))
                        .collect()
                } else {
                    cli::summarize_metrics(&rows, &format!("1-{}", params.horizon))
                };
            let view = BacktestView {
                as_of,
                metrics: &rows,
            };
            out!(
                "{}",
                cli::render(format, &view, &cli::backtest_grid(&lines))
            );
            if format == OutputFormat::Table {
                outln!(
                    "walk-forward as of {as_of} over {} origins; selection per horizon: {}",
                    out.origins.len(),
                    out.selection
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        Command::Report {
            out,
            as_of,
            period,
            horizon,
            format,
        } => {
            let settings = settings(&cli.global)?;
            if !(1..=24).contains(&horizon) {
                bail!("--horizon {horizon} is not in 1..24");
            }
            let store = Store::connect(&settings.database_url).await?;
            let written = attain::report::job::report(
                &store,
                &settings,
                &attain::report::job::ReportParams {
                    out,
                    as_of,
                    period: period_arg(period)?,
                    horizon,
                },
                default_train_params()?,
            )
            .await?;
            store.close().await;
            print_report(format, &written)?;
        }
        Command::Demo {
            sample_dir,
            addr,
            no_serve,
        } => {
            let mut settings = settings(&cli.global)?;
            listen_on(&mut settings, addr)?;
            let dir = sample_dir.unwrap_or_else(|| settings.data_dir.join("sample"));
            if !dir.join("opportunities.csv").exists() {
                eprintln!("generating the sample organisation in {}", dir.display());
                sim::generate_to(OrgParams::default(), &dir)?;
            }
            let store = Store::connect(&settings.database_url).await?;
            let options = ingest_options(&settings, Mapping::native(), None, progress);
            let summary = ingest::ingest(&store, std::slice::from_ref(&dir), &options).await?;
            outln!("ingested {} into {}", dir.display(), settings.database_url);
            out!("{}", cli::ingest_grid(&summary).to_table());
            out!("{}", cli::ingest_footer(&summary));
            let status = store.status().await?;
            outln!();
            out!("{}", cli::status_grid(&status).to_table());
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
                outln!(
                    "\nopen pipeline on {last}: {} deals worth {}",
                    open.len(),
                    attain::domain::Money::from_cents(value)
                );
            }
            let job = runs::forecast(
                &store,
                &settings,
                runs::ForecastParams {
                    as_of: None,
                    horizon: 6,
                    paths: 1000,
                    seed: 7,
                },
                default_train_params()?,
            )
            .await?;
            let coach_params = default_train_params()?;
            let list = attain::coaching::run::coach(
                &store,
                &settings,
                &attain::coaching::run::CoachParams::default(),
                coach_params,
            )
            .await?;
            let payouts = attain::commission::run::projection(
                &store,
                &settings,
                &attain::commission::run::CommissionParams {
                    level: Level::Company,
                    ..Default::default()
                },
                coach_params,
            )
            .await?;
            store.close().await;
            let company: Vec<_> = job
                .run
                .forecasts
                .iter()
                .filter(|r| r.level == Level::Company)
                .cloned()
                .collect();
            outln!(
                "\nforecast as of {} (run {}, model {}):",
                job.run.as_of,
                job.run.run_id,
                job.run.model_version
            );
            out!("{}", cli::forecast_grid(&company).to_table());
            outln!(
                "\ncoaching priorities for {} (top 5 of {}; attain coach shows all, with reasons):",
                list.period,
                list.reps.len()
            );
            let top = attain::coaching::CoachList {
                reps: list.reps.iter().take(5).cloned().collect(),
                ..list.clone()
            };
            out!("{}", cli::coach_summary_grid(&top).to_table());
            outln!(
                "\ncommissions for {} as of {} (accrual = mean; attain commissions shows each rep):",
                payouts.period,
                payouts.as_of
            );
            out!("{}", cli::payout_grid(&payouts).to_table());

            let report_dir = settings.data_dir.join("report");
            let store = Store::connect(&settings.database_url).await?;
            let written = attain::report::job::report(
                &store,
                &settings,
                &attain::report::job::ReportParams {
                    out: report_dir.clone(),
                    as_of: None,
                    period: None,
                    horizon: 6,
                },
                default_train_params()?,
            )
            .await?;
            outln!(
                "\nreports: {} charts (SVG and PNG) in {}; open {}",
                (written.files.len() - 1) / 2,
                report_dir.display(),
                report_dir.join("index.html").display()
            );
            for (chart, why) in &written.skipped {
                outln!("  not drawn: {chart}: {why}");
            }
            if no_serve {
                store.close().await;
                return Ok(());
            }
            // One demo token at a time: earlier demo runs' tokens are revoked.
            for old in store.tokens().await? {
                if old.name == "demo" && old.revoked_at.is_none() {
                    store.revoke_token(&old.token_id).await?;
                }
            }
            let (_, token) =
                attain::api::create_token(&store, attain::api::Role::Admin, None, Some("demo"))
                    .await?;
            let listener = tokio::net::TcpListener::bind(settings.listen_addr)
                .await
                .with_context(|| format!("cannot listen on {}", settings.listen_addr))?;
            let url = format!("http://{}/", listener.local_addr()?);
            outln!("\ndashboard and API: {url}  (OpenAPI at {url}openapi.json)");
            outln!("admin token (sign in with it; Ctrl-C stops the server):");
            outln!("{token}");
            let state = std::sync::Arc::new(attain::api::AppState::new(store.clone(), settings));
            attain::api::serve(listener, state, attain::api::shutdown_signal()).await?;
            store.close().await;
            eprintln!("stopped");
        }
    }
    Ok(())
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

/// The training settings the commands use by default.
fn default_train_params() -> Result<TrainParams> {
    train_params(
        ModelArgs {
            origins: 18,
            backtest_paths: 100,
            seed: 7,
        },
        12,
    )
}

fn print_report(format: OutputFormat, written: &attain::report::job::Written) -> Result<()> {
    match format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(written)?),
        _ => {
            let mut grid = cli::Grid::new(&["file"]);
            for f in &written.files {
                grid.push(vec![f.display().to_string()]);
            }
            out!(
                "{}",
                if format == OutputFormat::Csv {
                    grid.to_csv()
                } else {
                    grid.to_table()
                }
            );
            for (chart, why) in &written.skipped {
                eprintln!("not drawn: {chart}: {why}");
            }
        }
    }
    Ok(())
}
