//! `attain commissions close|publish|adjust|dispute|resolve|export|versions|
//! closes|disputes` and `attain audit`: the commission close from the
//! command line. The audit trail names the CLI's user as `cli:USER`.

use anyhow::Result;
use clap::{Args, Subcommand};

use attain::domain::{Money, Period};
use attain::jobs::close;
use attain::output::{self, Grid, OutputFormat};
use attain::store::{AuditFilter, Store};

use super::Global;

#[derive(Subcommand)]
pub enum CloseAction {
    /// Freeze every statement of a period (lines, data fingerprint, plan version)
    Close(PeriodArgs),
    /// Show a closed period's statements to their reps
    Publish(PeriodArgs),
    /// A manual adjustment line on a rep's open period
    Adjust(AdjustArgs),
    /// A rep disputes their published statement of a period
    Dispute(DisputeArgs),
    /// Resolve a dispute with a note, and an adjustment when --amount is given
    Resolve(ResolveArgs),
    /// The payroll file of a closed period: rep, name, period, currency, amount, adjustments
    Export(ExportArgs),
    /// Every version of a plan ever stored, with the days it is in force
    Versions(VersionsArgs),
    /// Closed periods: when, by whom, totals, published or not
    Closes(FormatArgs),
    /// Disputes, open and resolved
    Disputes(DisputesArgs),
}

#[derive(Args)]
pub struct PeriodArgs {
    /// YYYY-MM or YYYY-Qn
    #[arg(long)]
    period: String,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Args)]
pub struct AdjustArgs {
    /// The rep
    #[arg(long)]
    rep: String,
    /// The period (the adjustment lands on the rep's open statement holding its last day)
    #[arg(long)]
    period: String,
    /// Amount, negative to take back (e.g. 250.00 or -80)
    #[arg(long, allow_hyphen_values = true)]
    amount: String,
    /// Why (shown on the statement)
    #[arg(long)]
    reason: String,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Args)]
pub struct DisputeArgs {
    /// The rep whose statement is disputed
    #[arg(long)]
    rep: String,
    /// The closed, published period
    #[arg(long)]
    period: String,
    /// Why
    #[arg(long)]
    reason: String,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Args)]
pub struct ResolveArgs {
    /// The dispute's number
    id: i64,
    /// The resolution, shown to the rep
    #[arg(long)]
    note: String,
    /// An adjustment in the rep's first open period (negative to take back)
    #[arg(long, allow_hyphen_values = true)]
    amount: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Args)]
pub struct ExportArgs {
    /// The closed period
    #[arg(long)]
    period: String,
    /// csv (the payroll file, the default), table or json
    #[arg(long, value_enum, default_value = "csv")]
    format: OutputFormat,
}

#[derive(Args)]
pub struct VersionsArgs {
    /// The plan id
    #[arg(long)]
    plan: String,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Args)]
pub struct FormatArgs {
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Args)]
pub struct DisputesArgs {
    /// Only this rep's
    #[arg(long)]
    rep: Option<String>,
    /// open or resolved
    #[arg(long)]
    state: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Args)]
pub struct AuditArgs {
    /// Events at or after this day (YYYY-MM-DD) or time (RFC 3339)
    #[arg(long)]
    since: Option<String>,
    /// Only this kind: ingest, plan_version, close, publish, adjustment, dispute, resolve, token_create, token_revoke
    #[arg(long)]
    kind: Option<String>,
    /// Only events whose subject starts with this (a rep id, a period, a plan id)
    #[arg(long)]
    subject: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

/// How the audit trail names a command-line user.
pub fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    format!("cli:{user}")
}

fn period(text: &str) -> Result<Period> {
    super::period_arg(Some(text.to_owned())).map(|p| p.expect("given"))
}

fn money(flag: &str, text: &str) -> Result<Money> {
    Money::parse(text).map_err(|e| anyhow::anyhow!("--{flag} {text:?}: {e}"))
}

pub async fn run(global: &Global, action: CloseAction) -> Result<()> {
    let settings = global.settings()?;
    let store = Store::connect(&settings.database_url).await?;
    let actor = cli_actor();
    let result = act(&store, &settings, action, &actor).await;
    store.close().await;
    result
}

async fn act(
    store: &Store,
    settings: &attain::config::Settings,
    action: CloseAction,
    actor: &str,
) -> Result<()> {
    match action {
        CloseAction::Close(a) => {
            let record = close::close(store, settings, period(&a.period)?, actor).await?;
            let grid = output::closes_grid(std::slice::from_ref(&record));
            out!("{}", output::render(a.format, &record, &grid));
        }
        CloseAction::Publish(a) => {
            let record = close::publish(store, period(&a.period)?, actor).await?;
            let grid = output::closes_grid(std::slice::from_ref(&record));
            out!("{}", output::render(a.format, &record, &grid));
        }
        CloseAction::Adjust(a) => {
            let made = close::adjust(
                store,
                settings,
                &close::AdjustParams {
                    rep_id: a.rep,
                    period: period(&a.period)?,
                    amount: money("amount", &a.amount)?,
                    reason: a.reason,
                },
                actor,
            )
            .await?;
            let grid = output::adjustments_grid(std::slice::from_ref(&made));
            out!("{}", output::render(a.format, &made, &grid));
        }
        CloseAction::Dispute(a) => {
            let d = close::dispute(store, &a.rep, period(&a.period)?, &a.reason, actor).await?;
            let grid = output::disputes_grid(std::slice::from_ref(&d));
            out!("{}", output::render(a.format, &d, &grid));
        }
        CloseAction::Resolve(a) => {
            let amount = a
                .amount
                .as_deref()
                .map(|t| money("amount", t))
                .transpose()?;
            let d = close::resolve(store, settings, a.id, &a.note, amount, actor).await?;
            let grid = output::disputes_grid(std::slice::from_ref(&d));
            out!("{}", output::render(a.format, &d, &grid));
        }
        CloseAction::Export(a) => {
            let rows = close::export(store, settings, period(&a.period)?).await?;
            out!(
                "{}",
                output::render(a.format, &rows, &output::payroll_grid(&rows))
            );
        }
        CloseAction::Versions(a) => {
            let versions = close::versions(store, settings, &a.plan).await?;
            out!(
                "{}",
                output::render(a.format, &versions, &output::versions_grid(&versions))
            );
        }
        CloseAction::Closes(a) => {
            let closes = store.closes().await?;
            out!(
                "{}",
                output::render(a.format, &closes, &output::closes_grid(&closes))
            );
        }
        CloseAction::Disputes(a) => {
            let found = store.disputes(a.rep.as_deref(), a.state.as_deref()).await?;
            out!(
                "{}",
                output::render(a.format, &found, &output::disputes_grid(&found))
            );
        }
    }
    Ok(())
}

/// `attain audit`.
pub async fn audit(global: &Global, args: AuditArgs) -> Result<()> {
    let settings = global.settings()?;
    let store = Store::connect(&settings.database_url).await?;
    let events = store
        .audit_events(&AuditFilter {
            since: args.since,
            kind: args.kind,
            subject: args.subject,
        })
        .await;
    store.close().await;
    let events = events?;
    let mut grid = Grid::new(&["event_id", "at", "actor", "kind", "subject", "note"]);
    for e in &events {
        grid.push(vec![
            e.event_id.to_string(),
            e.at.clone(),
            e.actor.clone(),
            e.kind.clone(),
            e.subject.clone(),
            e.note.clone().unwrap_or_default(),
        ]);
    }
    #[derive(serde::Serialize)]
    struct View<'a> {
        events: &'a [attain::store::AuditEvent],
    }
    out!(
        "{}",
        output::render(args.format, &View { events: &events }, &grid)
    );
    Ok(())
}
