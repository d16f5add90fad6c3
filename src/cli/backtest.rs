//! `attain backtest`: walk-forward accuracy against the baselines.

use anyhow::{Result, bail};
use chrono::{Datelike, NaiveDate};
use clap::Args;

use attain::domain::{Horizon, Origins};
use attain::features::Level;
use attain::forecast::backtest::MetricRow;
use attain::jobs;
use attain::output::{self, OutputFormat};
use attain::store::Store;

use super::{Global, ModelArgs, flag};

#[derive(Args)]
pub struct BacktestArgs {
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
}

/// What `attain backtest --format json` prints.
#[derive(serde::Serialize)]
struct BacktestView<'a> {
    as_of: NaiveDate,
    metrics: &'a [MetricRow],
}

pub async fn run(global: &Global, args: BacktestArgs) -> Result<()> {
    let settings = global.settings()?;
    let level = args
        .level
        .as_deref()
        .map(str::parse::<Level>)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let horizon = args.horizon;
    let mut params = args
        .model
        .train_params(horizon.unwrap_or(Horizon::DEFAULT.get()))?
        .backtest;
    let store = Store::connect(&settings.database_url).await?;
    let to = super::day_or_last(&store, args.to).await?;
    if let Some(from) = args.from {
        let months = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
        if months < 1 {
            bail!("--from {from} must be at least a month before --to {to}");
        }
        params.origins = Origins::new(months as usize).map_err(flag)?;
    }
    let (as_of, out) = jobs::backtest(&store, &settings, Some(to), params).await?;
    store.close().await;
    let rows: Vec<_> = out
        .metrics
        .into_iter()
        .filter(|r| level.is_none_or(|l| r.level == l) && horizon.is_none_or(|h| r.horizon == h))
        .collect();
    let lines: Vec<(String, MetricRow)> = if args.by_horizon || horizon.is_some() {
        rows.iter()
            .map(|r| (r.horizon.to_string(), r.clone()))
            .collect()
    } else {
        output::summarize_metrics(&rows, &format!("1-{}", params.horizon))
    };
    let view = BacktestView {
        as_of,
        metrics: &rows,
    };
    out!(
        "{}",
        output::render(args.format, &view, &output::backtest_grid(&lines))
    );
    if args.format == OutputFormat::Table {
        outln!(
            "walk-forward as of {as_of} over {} origins; baseline {}; selection per horizon: {}",
            out.origins.len(),
            out.comparator,
            out.selection
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}
