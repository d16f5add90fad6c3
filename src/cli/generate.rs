//! `attain generate`: a synthetic organisation in the native format, or
//! as a flat CRM export.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::Args;

use attain::sim::{self, OrgParams};

#[derive(Args)]
pub struct GenerateArgs {
    /// Output folder
    #[arg(long)]
    out: PathBuf,
    /// Quota-carrying reps in seat at any time
    #[arg(long, default_value_t = 60)]
    reps: usize,
    /// Months simulated
    #[arg(long, default_value_t = 36)]
    months: u32,
    /// Random seed (same seed, same files)
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// First month, YYYY-MM
    #[arg(long, default_value = "2023-01")]
    start: String,
    /// Average deals created per ramped rep per month
    #[arg(long, default_value_t = 3.0)]
    deals_per_rep_month: f64,
    /// native: attain's own files; flat: one row per deal with names, no
    /// history file, blanks, and the mapping that loads it
    #[arg(long, value_enum, default_value_t = Layout::Native)]
    layout: Layout,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    Native,
    Flat,
}

pub fn run(args: GenerateArgs) -> Result<()> {
    let start = NaiveDate::parse_from_str(&format!("{}-01", args.start), "%Y-%m-%d")
        .with_context(|| format!("--start {:?} is not YYYY-MM", args.start))?;
    let params = OrgParams {
        reps: args.reps,
        months: args.months,
        seed: args.seed,
        start,
        deals_per_rep_month: args.deals_per_rep_month,
    };
    if args.layout == Layout::Flat {
        let org = params.check()?.generate();
        sim::write_flat(&org, &args.out)?;
        outln!(
            "wrote a flat export of {} deals (sales_pipeline.csv, sales_teams.csv, products.csv) and crm_mapping.toml to {}; load it with: attain ingest --mapping {} {}",
            org.deals.len(),
            args.out.display(),
            args.out.join("crm_mapping.toml").display(),
            args.out.display()
        );
        return Ok(());
    }
    let org = sim::generate_to(params, &args.out)?;
    outln!(
        "wrote {} people, {} opportunities, {} history snapshots, {} bookings, {} quotas, {} planted patterns to {} (data ends {})",
        org.people.len(),
        org.deals.len(),
        org.deals.iter().map(|d| d.history.len()).sum::<usize>(),
        org.bookings.len(),
        org.quotas.len(),
        org.truth.len(),
        args.out.display(),
        org.end
    );
    Ok(())
}
