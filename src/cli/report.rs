//! `attain report`: every chart as SVG and PNG, and an index.html.

use std::path::PathBuf;

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;

use attain::domain::Horizon;
use attain::jobs::ValidTrainParams;
use attain::output::{Grid, OutputFormat};
use attain::report::folder::{self, ReportParams, Written};
use attain::store::Store;

use super::{Global, flag};

#[derive(Args)]
pub struct ReportArgs {
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
    #[arg(long, default_value_t = Horizon::DEFAULT.get())]
    horizon: usize,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

pub async fn run(global: &Global, args: ReportArgs) -> Result<()> {
    let settings = global.settings()?;
    let params = ReportParams {
        out: args.out,
        as_of: args.as_of,
        period: super::period_arg(args.period)?,
        horizon: Horizon::new(args.horizon).map_err(flag)?,
    };
    let store = Store::connect(&settings.database_url).await?;
    let written = folder::report(&store, &settings, &params, ValidTrainParams::default()).await;
    store.close().await;
    print_written(args.format, &written?)
}

/// The files written (a table, CSV or JSON) and, on stderr, the charts not
/// drawn and why.
fn print_written(format: OutputFormat, written: &Written) -> Result<()> {
    if format == OutputFormat::Json {
        outln!("{}", serde_json::to_string_pretty(written)?);
        return Ok(());
    }
    let mut grid = Grid::new(&["file"]);
    for f in &written.files {
        grid.push(vec![f.display().to_string()]);
    }
    if format == OutputFormat::Csv {
        out!("{}", grid.to_csv());
    } else {
        out!("{}", grid.to_table());
    }
    for (chart, why) in &written.skipped {
        eprintln!("not drawn: {chart}: {why}");
    }
    Ok(())
}
