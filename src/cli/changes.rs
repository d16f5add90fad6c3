//! `attain changes`: what changed between two days for a period.

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;

use attain::features::Level;
use attain::jobs::changes::{ChangesParams, changes};
use attain::output::{self, OutputFormat};
use attain::store::Store;

use super::{Global, period_arg};

#[derive(Args)]
pub struct ChangesArgs {
    /// First day [default: a week before --to]
    #[arg(long)]
    from: Option<NaiveDate>,
    /// Last day [default: the data's last day]
    #[arg(long)]
    to: Option<NaiveDate>,
    /// A person (a rep, or a manager's or leader's team), territory, region or `company`
    #[arg(long, default_value = "company")]
    id: String,
    /// The id's level, when it names more than one kind of entity
    #[arg(long)]
    level: Option<String>,
    /// YYYY-MM or YYYY-Qn [default: the quarter of --to]
    #[arg(long)]
    period: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

pub async fn run(global: &Global, args: ChangesArgs) -> Result<()> {
    let settings = global.settings()?;
    let level = args
        .level
        .map(|l| l.parse::<Level>().map_err(anyhow::Error::msg))
        .transpose()?;
    let store = Store::connect(&settings.database_url).await?;
    let (data, _) = attain::jobs::load(&store, &settings).await?;
    let params = ChangesParams {
        id: Some(args.id),
        level,
        period: period_arg(args.period)?,
        from: args.from,
        to: args.to,
    };
    let found = changes(&store, &data, &params).await?;
    out!(
        "{}",
        output::render(args.format, &found, &output::changes_grid(&found))
    );
    store.close().await;
    Ok(())
}
