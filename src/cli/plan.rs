//! `attain plan`: quotas that add up to a target, a candidate comp plan
//! costed beside the current one, and the balance of territories, all from
//! the forecast's sample paths. Nothing is stored: `plan quotas --out`
//! writes a quotas.csv that `attain ingest` applies.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use rust_decimal::Decimal;

use attain::domain::{Money, Paths};
use attain::jobs::plan::{self, PlanParams, QuotaParams};
use attain::output::{self, OutputFormat};
use attain::planning::quotas::QuotaMethod;
use attain::store::Store;

use super::{Global, ModelArgs, flag};

#[derive(Subcommand)]
pub enum PlanAction {
    /// Propose a quota per rep adding up to --target, with each rep's P(attain)
    Quotas(QuotaArgs),
    /// Cost a candidate comp_plans.toml beside the current plans over the forecast's paths
    Comp(CompArgs),
    /// Reps, bookings, pipeline, quota, forecast and coverage per territory, and their spread
    Territories(TerritoryArgs),
}

/// The forecast a plan reads.
#[derive(Args)]
pub struct ForecastArgs {
    /// The forecast's day [default: the last day of data]
    #[arg(long)]
    as_of: Option<NaiveDate>,
    /// YYYY-MM or YYYY-Qn [default: the quarter of the day after --as-of]
    #[arg(long)]
    period: Option<String>,
    /// Sample paths
    #[arg(long, default_value_t = Paths::DEFAULT.get())]
    paths: usize,
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

impl ForecastArgs {
    fn params(&self) -> Result<PlanParams> {
        Ok(PlanParams {
            as_of: self.as_of,
            period: super::period_arg(self.period.clone())?,
            paths: Paths::new(self.paths).map_err(flag)?,
            seed: self.model.seed,
        })
    }
}

#[derive(Args)]
pub struct QuotaArgs {
    /// The company target for the period (the quotas add up to it to the cent)
    #[arg(long)]
    target: String,
    /// history (recent run-rate), capacity (tenure and ramp), blend, or equal
    #[arg(long, default_value = "history")]
    method: String,
    /// A rep's quota given, not solved: REP=AMOUNT (repeat for more)
    #[arg(long = "pin", value_name = "REP=AMOUNT")]
    pins: Vec<String>,
    /// Also write the proposal as a quotas.csv here
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    forecast: ForecastArgs,
}

#[derive(Args)]
pub struct CompArgs {
    /// The candidate comp_plans.toml
    #[arg(long)]
    plans: PathBuf,
    /// People listed by the size of their change
    #[arg(long, default_value_t = 10)]
    top: usize,
    #[command(flatten)]
    forecast: ForecastArgs,
}

#[derive(Args)]
pub struct TerritoryArgs {
    #[command(flatten)]
    forecast: ForecastArgs,
}

/// An amount given on the command line, to the cent.
fn amount(text: &str, what: &str) -> Result<Money> {
    let value: Decimal = text
        .replace([',', '_'], "")
        .parse()
        .with_context(|| format!("{what} {text:?} is not an amount"))?;
    Ok(Money::from_decimal(value))
}

pub async fn run(global: &Global, action: PlanAction) -> Result<()> {
    match action {
        PlanAction::Quotas(args) => quotas(global, args).await,
        PlanAction::Comp(args) => comp(global, args).await,
        PlanAction::Territories(args) => {
            let (settings, train) = global.with_model(args.forecast.model)?;
            let store = Store::connect(&settings.database_url).await?;
            let report =
                plan::territories(&store, &settings, &args.forecast.params()?, train).await;
            store.close().await;
            let report = report?;
            out!(
                "{}",
                output::render(
                    args.forecast.format,
                    &report,
                    &output::territory_grid(&report)
                )
            );
            Ok(())
        }
    }
}

async fn quotas(global: &Global, args: QuotaArgs) -> Result<()> {
    let (settings, train) = global.with_model(args.forecast.model)?;
    let method: QuotaMethod = args.method.parse().map_err(anyhow::Error::msg)?;
    let mut pins = Vec::new();
    for pin in &args.pins {
        let Some((rep, value)) = pin.split_once('=') else {
            bail!("--pin {pin:?}: expected REP=AMOUNT");
        };
        pins.push((rep.trim().to_owned(), amount(value.trim(), "--pin")?));
    }
    let params = QuotaParams {
        plan: args.forecast.params()?,
        target: amount(&args.target, "--target")?,
        method,
        pins,
    };
    let store = Store::connect(&settings.database_url).await?;
    let proposal = plan::quotas(&store, &settings, &params, train).await;
    store.close().await;
    let proposal = proposal?;
    if let Some(path) = &args.out {
        std::fs::write(path, output::quotas_csv(&proposal))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    out!(
        "{}",
        output::render(
            args.forecast.format,
            &proposal,
            &output::quota_grid(&proposal)
        )
    );
    Ok(())
}

async fn comp(global: &Global, args: CompArgs) -> Result<()> {
    let (settings, train) = global.with_model(args.forecast.model)?;
    let text = std::fs::read_to_string(&args.plans)
        .with_context(|| format!("cannot read {}", args.plans.display()))?;
    let store = Store::connect(&settings.database_url).await?;
    let scenario = plan::comp(&store, &settings, &text, &args.forecast.params()?, train).await;
    store.close().await;
    let scenario = scenario?;
    out!(
        "{}",
        output::render(
            args.forecast.format,
            &scenario,
            &output::scenario_grid(&scenario, args.top)
        )
    );
    Ok(())
}
