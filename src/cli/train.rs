//! `attain train`: backtest, select, fit and register the models.

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;

use attain::forecast::TrainedModel;
use attain::jobs::{self, Trained};
use attain::output::{self, OutputFormat, ScoringView};
use attain::store::Store;

use super::{Global, ModelArgs};

#[derive(Args)]
pub struct TrainArgs {
    /// Train on what was known on this day [default: the last day of data]
    #[arg(long)]
    as_of: Option<NaiveDate>,
    /// Longest horizon backtested and selected for, in months (1..24)
    #[arg(long, default_value_t = 12)]
    horizon: usize,
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

/// What `attain train --format json` prints.
#[derive(serde::Serialize)]
struct TrainView<'a> {
    #[serde(flatten)]
    model: &'a TrainedModel,
    scoring: Option<ScoringView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scoring_skipped: Option<&'a str>,
}

pub async fn run(global: &Global, args: TrainArgs) -> Result<()> {
    let settings = global.settings()?;
    let params = args.model.train_params(args.horizon)?;
    let store = Store::connect(&settings.database_url).await?;
    let Trained {
        model: trained,
        scoring,
        scoring_skipped,
    } = jobs::train(&store, &settings, args.as_of, params).await?;
    store.close().await;
    let format = args.format;
    let scoring_view = scoring.as_ref().map(|s| ScoringView {
        model_version: &trained.version,
        as_of: s.as_of,
        model: s.kind,
        report: &s.report,
    });
    if format == OutputFormat::Json {
        let view = TrainView {
            model: &trained,
            scoring: scoring_view,
            scoring_skipped: scoring_skipped.as_deref(),
        };
        outln!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        out!(
            "{}",
            output::render(format, &trained, &output::train_grid(&trained))
        );
    }
    if format == OutputFormat::Table {
        match (&scoring, &scoring_skipped) {
            (Some(s), _) => {
                outln!();
                out!("{}", output::scoring_grid(&s.report).to_table());
                if s.kind == attain::scoring::ScorerKind::StageRate {
                    outln!("win probabilities: each stage's historical win rate");
                } else {
                    outln!(
                        "win probabilities: {} chosen on the validation window",
                        s.kind.as_str()
                    );
                }
                for note in &s.report.notes {
                    outln!("note: {note}");
                }
            }
            (None, Some(why)) => outln!("no win-probability model: {why}"),
            (None, None) => {}
        }
        outln!(
            "registered model {} in {} (as of {}, backtest {:.1} s over {} origins, fit {:.1} s)",
            trained.version,
            settings.models_dir.display(),
            trained.as_of,
            trained.seconds.get("backtest").copied().unwrap_or(0.0),
            trained.origins.len(),
            trained.seconds.get("fit").copied().unwrap_or(0.0),
        );
    }
    Ok(())
}
