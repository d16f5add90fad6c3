//! `attain coach`: the coaching-priority list, or its evaluation.

use std::path::PathBuf;

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;

use attain::coaching::RankBy;
use attain::domain::Paths;
use attain::jobs::coach::{self, CoachParams};
use attain::jobs::coach_evaluate;
use attain::output::{self, OutputFormat};
use attain::store::Store;

use super::{Global, ModelArgs, flag};

#[derive(Args)]
pub struct CoachArgs {
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
    #[arg(long, default_value_t = Paths::DEFAULT.get())]
    paths: usize,
    /// Days without a stage change that make a deal stale
    #[arg(long, default_value_t = attain::coaching::STALE_DAYS)]
    stale_days: i64,
    /// Rank by the money at risk this period (priority) or by the
    /// evidence that a rep's business fell against their own past
    /// (decline)
    #[arg(long, value_enum, default_value_t)]
    rank_by: RankBy,
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
}

pub async fn run(global: &Global, args: CoachArgs) -> Result<()> {
    let (settings, train) = global.with_model(args.model)?;
    let params = CoachParams {
        as_of: args.as_of,
        manager: args.manager,
        period: super::period_arg(args.period)?,
        paths: Paths::new(args.paths).map_err(flag)?,
        seed: args.model.seed,
        stale_days: args.stale_days,
        rank_by: args.rank_by,
    };
    let format = args.format;
    let store = Store::connect(&settings.database_url).await?;
    if !args.evaluate {
        let list = coach::coach(&store, &settings, &params, train).await?;
        store.close().await;
        out!(
            "{}",
            output::render(format, &list, &output::coach_grid(&list))
        );
        if list.reps.is_empty() && format == OutputFormat::Table {
            outln!(
                "note: no rep in scope has a quota for {}: the list ranks reps by the money at risk against their quota (load quotas.csv)",
                list.period
            );
        }
        return Ok(());
    }
    let evaluation = coach_evaluate::evaluate(
        &store,
        &settings,
        &params,
        args.truth.as_deref(),
        args.quarters,
        train,
    )
    .await;
    store.close().await;
    let evaluation = evaluation?;
    out!(
        "{}",
        output::render(
            format,
            &evaluation,
            &output::coach_history_grid(&evaluation)
        )
    );
    let Some(t) = evaluation
        .truth
        .as_ref()
        .filter(|_| format == OutputFormat::Table)
    else {
        return Ok(());
    };
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
    Ok(())
}
