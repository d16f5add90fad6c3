//! `attain serve`: the REST API and dashboard.

use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;

use attain::api::{self, AppState};
use attain::store::Store;

use super::Global;

#[derive(Args)]
pub struct ServeArgs {
    /// Listen address, HOST:PORT [default: listen_addr setting, or 127.0.0.1:8080]
    #[arg(long, env = "ATTAIN_LISTEN_ADDR")]
    addr: Option<String>,
}

pub async fn run(global: &Global, args: ServeArgs) -> Result<()> {
    let mut settings = global.settings()?;
    super::listen_on(&mut settings, args.addr)?;
    let store = Store::connect(&settings.database_url).await?;
    let addr = settings.listen_addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    if !addr.ip().is_loopback() {
        // Bearer tokens would cross the network readable.
        eprintln!(
            "warning: serving {addr} without TLS: tokens and data cross the network in clear text; \
             put attain behind a reverse proxy that terminates TLS (see docs/api.md) or listen on 127.0.0.1"
        );
    }
    let state = Arc::new(AppState::new(store.clone(), settings));
    eprintln!(
        "attain {} serving http://{} (OpenAPI at /openapi.json); Ctrl-C or SIGTERM stops it",
        env!("CARGO_PKG_VERSION"),
        listener.local_addr()?
    );
    api::serve(listener, state, api::shutdown_signal()).await?;
    store.close().await;
    eprintln!("stopped");
    Ok(())
}
