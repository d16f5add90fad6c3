//! `attain commissions`: projected payouts, a rep's statement, what-ifs;
//! and the close (`close`, `publish`, `adjust`, `dispute`, `resolve`,
//! `export`, `versions`, `closes`, `disputes`).

use anyhow::{Result, bail};
use chrono::NaiveDate;
use clap::Args;

use attain::domain::Paths;
use attain::features::Level;
use attain::jobs::commissions::{self, CommissionParams, WhatIf};
use attain::output::{self, OutputFormat};
use attain::store::Store;

use super::{Global, ModelArgs, flag};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CommissionsArgs {
    #[command(subcommand)]
    action: Option<super::close::CloseAction>,
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
    #[arg(long, default_value_t = Paths::DEFAULT.get())]
    paths: usize,
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

pub async fn run(global: &Global, args: CommissionsArgs) -> Result<()> {
    if let Some(action) = args.action {
        return super::close::run(global, action).await;
    }
    let (settings, train) = global.with_model(args.model)?;
    let level: Level = args.level.parse().map_err(anyhow::Error::msg)?;
    if args.rep.is_some() && level != Level::Rep {
        bail!(
            "--rep is for --level rep; use --id for a {}",
            level.as_str()
        );
    }
    let what_if = match (args.what_if_win, args.what_if_lose) {
        (Some(o), _) => Some(WhatIf::Win(o)),
        (None, Some(o)) => Some(WhatIf::Lose(o)),
        _ => None,
    };
    let params = CommissionParams {
        as_of: args.as_of,
        period: super::period_arg(args.period)?,
        id: args.rep.or(args.id),
        level,
        paths: Paths::new(args.paths).map_err(flag)?,
        seed: args.model.seed,
        what_if,
    };
    let format = args.format;
    let store = Store::connect(&settings.database_url).await?;
    if args.statement {
        let st = commissions::statement(&store, &settings, &params).await?;
        store.close().await;
        out!(
            "{}",
            output::render(format, &st, &output::statement_grid(&st))
        );
        return Ok(());
    }
    let projection = commissions::projection(&store, &settings, &params, train).await?;
    store.close().await;
    match (&projection.what_if, format) {
        (Some(w), OutputFormat::Table | OutputFormat::Csv) => {
            out!("{}", output::render(format, w, &output::what_if_grid(w)));
        }
        _ => out!(
            "{}",
            output::render(format, &projection, &output::payout_grid(&projection))
        ),
    }
    Ok(())
}
