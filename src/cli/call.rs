//! `attain call submit|list`: forecast calls.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{Args, Subcommand};

use attain::calls::{CallInput, Submitter};
use attain::domain::Money;
use attain::jobs::calls::{AccuracyParams, ListParams, accuracy, list, submit};
use attain::output::{self, OutputFormat};
use attain::store::Store;

use super::{Global, period_arg};

#[derive(Subcommand)]
pub enum CallAction {
    /// Submit a call: a rep's own number, or a manager's or leader's team number
    Submit(SubmitArgs),
    /// The roll-up of calls under a person beside the model's range
    List(ListArgs),
    /// Whose calls to trust: each person's calls over finished periods against what was booked, beside the model
    Accuracy(AccuracyArgs),
}

#[derive(Args)]
pub struct AccuracyArgs {
    /// First period scored (YYYY-MM or YYYY-Qn)
    #[arg(long)]
    from: Option<String>,
    /// Last period scored
    #[arg(long)]
    to: Option<String>,
    /// Only this person and the people under them
    #[arg(long)]
    id: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Args)]
pub struct SubmitArgs {
    /// Whose number it is
    #[arg(long = "as")]
    person: String,
    /// YYYY-MM or YYYY-Qn
    #[arg(long)]
    period: String,
    /// What they will book
    #[arg(long)]
    commit: String,
    /// What they could book if things go well
    #[arg(long)]
    best_case: Option<String>,
    /// Open pipeline they see for the period
    #[arg(long)]
    pipeline: Option<String>,
    /// Why
    #[arg(long)]
    note: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Args)]
pub struct ListArgs {
    /// Whose roll-up [default: the head of the organisation]
    #[arg(long)]
    id: Option<String>,
    /// YYYY-MM or YYYY-Qn [default: the quarter of --as-of]
    #[arg(long)]
    period: Option<String>,
    /// Calls as of this day [default: today]
    #[arg(long)]
    as_of: Option<NaiveDate>,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

fn money(flag: &str, raw: &str) -> Result<Money> {
    Money::parse(raw).with_context(|| format!("--{flag} {raw:?}"))
}

pub async fn run(global: &Global, action: CallAction) -> Result<()> {
    let settings = global.settings()?;
    let store = Store::connect(&settings.database_url).await?;
    match action {
        CallAction::Submit(args) => {
            let input = CallInput {
                person_id: args.person,
                period: period_arg(Some(args.period))?.context("--period is required")?,
                commit: money("commit", &args.commit)?,
                best_case: args.best_case.map(|v| money("best-case", &v)).transpose()?,
                pipeline: args.pipeline.map(|v| money("pipeline", &v)).transpose()?,
                note: args.note,
            };
            // The command line speaks with the store's own authority, as
            // an admin token does.
            let today = chrono::Utc::now().date_naive();
            let call = submit(&store, &settings, Submitter::Admin, "cli", &input, today).await?;
            let mut grid = output::Grid::new(&["call_id", "person", "period", "commit"]);
            grid.push(vec![
                call.call_id.to_string(),
                call.person_id.clone(),
                call.period.clone(),
                call.commit.to_string(),
            ]);
            out!("{}", output::render(args.format, &call, &grid));
        }
        CallAction::Accuracy(args) => {
            let params = AccuracyParams {
                from: period_arg(args.from)?,
                to: period_arg(args.to)?,
                person: args.id,
            };
            let today = chrono::Utc::now().date_naive();
            let scored = accuracy(&store, &settings, &params, today).await?;
            out!(
                "{}",
                output::render(args.format, &scored, &output::call_accuracy_grid(&scored))
            );
        }
        CallAction::List(args) => {
            let params = ListParams {
                person: args.id,
                period: period_arg(args.period)?,
                as_of: args.as_of,
            };
            let list = list(&store, &settings, &params).await?;
            out!(
                "{}",
                output::render(args.format, &list, &output::calls_grid(&list))
            );
        }
    }
    store.close().await;
    Ok(())
}
