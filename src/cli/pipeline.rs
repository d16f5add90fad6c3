//! `attain pipeline`: the deals as they stood on a past date.

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;

use attain::output::{self, OutputFormat, PipelineView};
use attain::store::Store;

use super::Global;

#[derive(Args)]
pub struct PipelineArgs {
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
}

pub async fn run(global: &Global, args: PipelineArgs) -> Result<()> {
    let settings = global.settings()?;
    let store = Store::connect(&settings.database_url).await?;
    let date = super::day_or_last(&store, args.as_of).await?;
    let mut deals = store.opportunities_as_of(date).await?;
    if deals.is_empty() {
        // Nothing by that day: say whether the history can answer at all.
        let status = store.status().await?;
        if let Some(first) = status.first_date.filter(|f| date < *f) {
            anyhow::bail!(
                "the stored history starts on {first}: nothing is known of the pipeline on {date}"
            );
        }
    }
    deals.retain(|d| {
        (args.all || !d.status.is_closed())
            && args.rep.as_deref().is_none_or(|r| d.rep_id.as_str() == r)
    });
    let view = PipelineView {
        as_of: date,
        opportunities: &deals,
    };
    out!(
        "{}",
        output::render(args.format, &view, &output::pipeline_grid(&deals))
    );
    Ok(())
}
