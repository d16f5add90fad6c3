//! `attain forecast`: forecast and store a run, or show a stored one.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::Args;

use attain::domain::{Horizon, Paths, Period};
use attain::features::Level;
use attain::forecast::ForecastRow;
use attain::jobs::{self, ForecastParams};
use attain::output::{self, OutputFormat};
use attain::store::{ForecastFilter, Store};

use super::{Global, ModelArgs, flag};

#[derive(Args)]
pub struct ForecastArgs {
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
    #[arg(long, default_value_t = Horizon::DEFAULT.get())]
    horizon: usize,
    /// Only this period, YYYY-MM or YYYY-Qn
    #[arg(long)]
    period: Option<String>,
    /// Sample paths
    #[arg(long, default_value_t = Paths::DEFAULT.get())]
    paths: usize,
    /// Show a stored run instead of forecasting anew
    #[arg(long)]
    run: Option<i64>,
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

/// What `attain forecast --format json` prints.
#[derive(serde::Serialize)]
struct ForecastView<'a> {
    run_id: i64,
    as_of: NaiveDate,
    model_version: &'a str,
    forecasts: &'a [ForecastRow],
}

pub async fn run(global: &Global, args: ForecastArgs) -> Result<()> {
    let settings = global.settings()?;
    if let Some(l) = &args.level {
        l.parse::<Level>().map_err(anyhow::Error::msg)?;
    }
    let period = args
        .period
        .as_deref()
        .map(|p| Period::parse(p).with_context(|| format!("--period {p:?}")))
        .transpose()?;
    let horizon = Horizon::new(args.horizon).map_err(flag)?;
    let paths = Paths::new(args.paths).map_err(flag)?;
    let train = args.model.train_params(Horizon::DEFAULT.get())?;
    let store = Store::connect(&settings.database_url).await?;
    let run_id = match args.run {
        Some(id) => id,
        None => {
            let params = ForecastParams {
                as_of: args.as_of,
                horizon,
                paths,
                seed: args.model.seed,
            };
            let job = jobs::forecast(&store, &settings, params, train).await?;
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
        level: args
            .level
            .clone()
            .or_else(|| args.id.is_none().then(|| "company".to_owned())),
        entity_id: args.id.clone(),
        period: period.map(|p| p.to_string()),
    };
    let stored = jobs::stored(&store, Some(run_id), &filter).await?;
    store.close().await;
    let view = ForecastView {
        run_id: stored.run_id,
        as_of: stored.as_of,
        model_version: &stored.model_version,
        forecasts: &stored.forecasts,
    };
    out!(
        "{}",
        output::render(
            args.format,
            &view,
            &output::forecast_grid(&stored.forecasts)
        )
    );
    if args.format == OutputFormat::Table {
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
        if let Some(months) = attain::forecast::engine::thin_range_months(&stored.forecasts) {
            outln!(
                "note: ranges marked \"history\" rest on the series' own month-to-month variability ({months} months of data at most): the backtest has too few origins to measure the models' errors at those horizons"
            );
        }
    }
    Ok(())
}
