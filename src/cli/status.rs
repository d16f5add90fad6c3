//! `attain status`: rows per table, date range, fingerprint.

use anyhow::Result;
use clap::Args;

use attain::output::{self, OutputFormat};
use attain::store::Store;

use super::Global;

#[derive(Args)]
pub struct StatusArgs {
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

pub async fn run(global: &Global, args: StatusArgs) -> Result<()> {
    let settings = global.settings()?;
    let store = Store::connect(&settings.database_url).await?;
    let status = store.status().await?;
    out!(
        "{}",
        output::render(args.format, &status, &output::status_grid(&status))
    );
    Ok(())
}
