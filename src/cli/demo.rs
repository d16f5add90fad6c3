//! `attain demo`: the one-command tour on the generated sample
//! organisation: ingest, forecast, coach, commissions, reports, serve.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::Datelike;
use clap::Args;

use attain::api::{self, AppState};
use attain::calls::CallList;
use attain::coaching::CoachList;
use attain::config::Settings;
use attain::domain::{Horizon, Money, Paths};
use attain::features::Level;
use attain::ingest::{self, Mapping};
use attain::jobs::calls::{self, ListParams};
use attain::jobs::coach::{self, CoachParams};
use attain::jobs::commissions::{self, CommissionParams};
use attain::jobs::{self, ForecastParams, ValidTrainParams};
use attain::output;
use attain::report::folder::{self, ReportParams};
use attain::sim::{self, OrgParams};
use attain::store::Store;

use super::Global;

/// Months the demo forecasts and reports.
const DEMO_HORIZON: usize = 6;

#[derive(Args)]
pub struct DemoArgs {
    /// Where the sample organisation is written [default: DATA_DIR/sample]
    #[arg(long)]
    sample_dir: Option<PathBuf>,
    /// Listen address, HOST:PORT [default: listen_addr setting, or 127.0.0.1:8080]
    #[arg(long, env = "ATTAIN_LISTEN_ADDR")]
    addr: Option<String>,
    /// Stop after writing the reports instead of serving
    #[arg(long)]
    pub no_serve: bool,
}

pub async fn run(global: &Global, args: DemoArgs) -> Result<()> {
    let mut settings = global.settings()?;
    super::listen_on(&mut settings, args.addr)?;
    // A sample written by an older attain lacks the calls: write it again
    // (only the default folder; a folder named with --sample-dir is the
    // user's own).
    let stale = args.sample_dir.is_none();
    let dir = args
        .sample_dir
        .unwrap_or_else(|| settings.data_dir.join("sample"));
    if !dir.join("opportunities.csv").exists() || (stale && !dir.join("calls.csv").exists()) {
        eprintln!("generating the sample organisation in {}", dir.display());
        // The sample's data ends with last month, so its quarter under way
        // has calls, a forecast and room for a call of one's own.
        let this_month = chrono::Utc::now()
            .date_naive()
            .with_day(1)
            .unwrap_or_default();
        let params = OrgParams::default();
        let start = this_month
            .checked_sub_months(chrono::Months::new(params.months))
            .unwrap_or(params.start);
        sim::generate_to(OrgParams { start, ..params }, &dir)?;
    }
    let store = Store::connect(&settings.database_url).await?;
    ingest_sample(&store, &settings, &dir).await?;
    let horizon = Horizon::new(DEMO_HORIZON)?;
    summarise_models(&store, &settings, horizon).await?;
    show_calls(&store, &settings).await?;
    write_reports(&store, &settings, horizon).await?;
    if args.no_serve {
        store.close().await;
        return Ok(());
    }
    let token = api::rotate_demo_token(&store).await?;
    let listener = tokio::net::TcpListener::bind(settings.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen_addr))?;
    let url = format!("http://{}/", listener.local_addr()?);
    outln!("\ndashboard and API: {url}  (OpenAPI at {url}openapi.json)");
    outln!("admin token (sign in with it; Ctrl-C stops the server):");
    outln!("{token}");
    let state = Arc::new(AppState::new(store.clone(), settings));
    api::serve(listener, state, None, api::shutdown_signal()).await?;
    store.close().await;
    eprintln!("stopped");
    Ok(())
}

/// Ingests the sample folder and prints what the store now holds and the
/// pipeline open on its last day.
async fn ingest_sample(store: &Store, settings: &Settings, dir: &Path) -> Result<()> {
    let options = super::ingest::options(settings, Mapping::native(), None);
    let summary = ingest::ingest(store, std::slice::from_ref(&dir.to_path_buf()), &options).await?;
    outln!("ingested {} into {}", dir.display(), settings.database_url);
    out!("{}", output::ingest_grid(&summary).to_table());
    out!("{}", output::ingest_footer(&summary));
    let status = store.status().await?;
    outln!();
    out!("{}", output::status_grid(&status).to_table());
    if let Some(last) = status.last_date {
        let open: Vec<_> = store
            .opportunities_as_of(last)
            .await?
            .into_iter()
            .filter(|d| !d.status.is_closed())
            .collect();
        let value: i64 = open
            .iter()
            .filter_map(|d| d.amount)
            .map(|a| a.cents())
            .sum();
        outln!(
            "\nopen pipeline on {last}: {} deals worth {}",
            open.len(),
            Money::from_cents(value)
        );
    }
    Ok(())
}

/// Forecasts (training first), ranks the coaching list and projects
/// payouts, printing the company forecast, the top of the list and the
/// company's payouts.
async fn summarise_models(store: &Store, settings: &Settings, horizon: Horizon) -> Result<()> {
    let train = ValidTrainParams::default();
    let forecast = ForecastParams {
        as_of: None,
        horizon,
        paths: Paths::DEFAULT,
        seed: attain::domain::DEFAULT_SEED,
    };
    let job = jobs::forecast(store, settings, forecast, train).await?;
    let list = coach::coach(store, settings, &CoachParams::default(), train).await?;
    let company = CommissionParams {
        level: Level::Company,
        ..Default::default()
    };
    let payouts = commissions::projection(store, settings, &company, train).await?;
    let run = &job.run;
    let company_rows: Vec<_> = run
        .forecasts
        .iter()
        .filter(|r| r.level == Level::Company)
        .cloned()
        .collect();
    outln!(
        "\nforecast as of {} (run {}, model {}):",
        run.as_of,
        run.run_id,
        run.model_version
    );
    out!("{}", output::forecast_grid(&company_rows).to_table());
    outln!(
        "\ncoaching priorities for {} (top 5 of {}; attain coach shows all, with reasons):",
        list.period,
        list.reps.len()
    );
    let top = CoachList {
        reps: list.reps.iter().take(5).cloned().collect(),
        ..list.clone()
    };
    out!("{}", output::coach_summary_grid(&top).to_table());
    outln!(
        "\ncommissions for {} as of {} (accrual = mean; attain commissions shows each rep):",
        payouts.period,
        payouts.as_of
    );
    out!("{}", output::payout_grid(&payouts).to_table());
    Ok(())
}

/// The leader's roll-up of the sample's calls: the head of the
/// organisation and the people reporting to them, for the quarter of the
/// data's last day, as of that day.
async fn show_calls(store: &Store, settings: &Settings) -> Result<()> {
    let Some(last) = store.status().await?.last_date else {
        return Ok(());
    };
    let params = ListParams {
        person: None,
        period: None,
        as_of: Some(last),
    };
    let list = calls::list(store, settings, &params).await?;
    if list.calls.iter().all(|c| !c.called) {
        return Ok(());
    }
    let root = list.person_id.clone();
    let top = CallList {
        calls: list
            .calls
            .iter()
            .filter(|c| c.person_id == root || c.manager_id.as_deref() == Some(root.as_str()))
            .cloned()
            .collect(),
        ..list.clone()
    };
    outln!(
        "\nforecast calls for {} as of {} ({} and the people reporting to them; attain call list --id PERSON shows a team):",
        list.period,
        list.as_of,
        root
    );
    out!("{}", output::calls_grid(&top).to_table());
    Ok(())
}

/// Writes the report folder under the data dir and says where it is.
async fn write_reports(store: &Store, settings: &Settings, horizon: Horizon) -> Result<()> {
    let report_dir = settings.data_dir.join("report");
    let params = ReportParams {
        out: report_dir.clone(),
        as_of: None,
        period: None,
        horizon,
    };
    let written = folder::report(store, settings, &params, ValidTrainParams::default()).await?;
    outln!(
        "\nreports: {} charts (SVG and PNG) in {}; open {}",
        (written.files.len() - 1) / 2,
        report_dir.display(),
        report_dir.join("index.html").display()
    );
    for (chart, why) in &written.skipped {
        outln!("  not drawn: {chart}: {why}");
    }
    Ok(())
}
