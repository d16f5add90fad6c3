//! `attain worker`: claims and runs queued jobs from the store.

use std::sync::Arc;

use anyhow::{Result, bail};
use clap::Args;

use attain::api;
use attain::config::Settings;
use attain::ingest::Mapping;
use attain::jobs::queue::Worker;
use attain::store::Store;

use super::Global;

#[derive(Args)]
pub struct WorkerArgs {
    /// Run the jobs waiting now, then exit (instead of waiting for more)
    #[arg(long)]
    once: bool,
}

pub async fn run(global: &Global, args: WorkerArgs) -> Result<()> {
    let settings = global.settings()?;
    check_refresh(&settings)?;
    let store = Store::connect(&settings.database_url).await?;
    let worker = Worker::new(
        store.clone(),
        settings,
        "worker",
        Arc::new(tokio::sync::Notify::new()),
    );
    eprintln!(
        "attain {} worker {} claiming jobs; Ctrl-C or SIGTERM stops it after the job under way",
        env!("CARGO_PKG_VERSION"),
        worker.owner()
    );
    if args.once {
        let mut ran = 0;
        while worker.run_one().await?.is_some() {
            ran += 1;
        }
        eprintln!("{ran} job(s) run");
    } else {
        worker.run(api::shutdown_signal()).await;
    }
    store.close().await;
    eprintln!("stopped");
    Ok(())
}

/// The daily refresh's preset, checked before any job runs.
pub(super) fn check_refresh(settings: &Settings) -> Result<()> {
    if let Some(refresh) = &settings.refresh {
        if Mapping::preset(&refresh.preset).is_none() {
            bail!(
                "setting refresh_preset: {:?} is not one of {}",
                refresh.preset,
                Mapping::PRESETS.join(", ")
            );
        }
    }
    Ok(())
}
