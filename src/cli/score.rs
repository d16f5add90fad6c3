//! `attain score`: win probabilities of open deals, or the model's holdout
//! evaluation.

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;

use attain::jobs::score::{self, ScoreParams};
use attain::output::{self, OutputFormat, ScoringView};
use attain::store::Store;

use super::{Global, ModelArgs};

#[derive(Args)]
pub struct ScoreArgs {
    /// Score the deals open on this day [default: the last day of data]
    #[arg(long)]
    as_of: Option<NaiveDate>,
    /// Only this rep's deals
    #[arg(long)]
    rep: Option<String>,
    /// Drivers shown per deal
    #[arg(long, default_value_t = 3)]
    drivers: usize,
    /// Print the model's holdout evaluation (AUC, Brier, log loss,
    /// calibration error, reliability table) instead of the deals
    #[arg(long)]
    evaluate: bool,
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

pub async fn run(global: &Global, args: ScoreArgs) -> Result<()> {
    let (settings, train) = global.with_model(args.model)?;
    let store = Store::connect(&settings.database_url).await?;
    let format = args.format;
    if args.evaluate {
        let evaluated = score::evaluation(&store, &settings, args.as_of, train).await;
        store.close().await;
        let (version, scoring) = evaluated?;
        let view = ScoringView {
            model_version: &version,
            as_of: scoring.as_of,
            model: scoring.kind,
            report: &scoring.report,
        };
        out!(
            "{}",
            output::render(format, &view, &output::scoring_grid(&scoring.report))
        );
        if format == OutputFormat::Table {
            out!("{}", output::reliability_grid(&scoring.report).to_table());
            let how = if scoring.kind == attain::scoring::ScorerKind::StageRate {
                "served"
            } else {
                "chosen on the validation window"
            };
            outln!(
                "model {version}: {} {how}; windows {:?}",
                scoring.kind.as_str(),
                scoring.report.windows
            );
            for note in &scoring.report.notes {
                outln!("note: {note}");
            }
        }
        return Ok(());
    }
    let params = ScoreParams {
        as_of: args.as_of,
        rep: args.rep,
        drivers: args.drivers,
    };
    let list = score::score(&store, &settings, &params, train).await?;
    store.close().await;
    out!(
        "{}",
        output::render(format, &list, &output::score_grid(&list.opportunities))
    );
    Ok(())
}
