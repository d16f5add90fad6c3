//! `attain serve`: the REST API and dashboard.

use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;

use attain::api::{self, AppState};
use attain::config::TlsFiles;
use attain::store::Store;

use super::Global;

#[derive(Args)]
pub struct ServeArgs {
    /// Listen address, HOST:PORT [default: listen_addr setting, or 127.0.0.1:8080]
    #[arg(long, env = "ATTAIN_LISTEN_ADDR")]
    addr: Option<String>,
    /// PEM certificate chain: answer HTTPS with it (needs --tls-key) [default: tls_cert setting]
    #[arg(long, env = "ATTAIN_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// PEM private key of --tls-cert [default: tls_key setting]
    #[arg(long, env = "ATTAIN_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
}

pub async fn run(global: &Global, args: ServeArgs) -> Result<()> {
    let mut settings = global.settings()?;
    super::listen_on(&mut settings, args.addr)?;
    super::worker::check_refresh(&settings)?;
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        settings.tls = Some(TlsFiles { cert, key });
    }
    let tls = match &settings.tls {
        Some(files) => Some(api::tls_config(files).await?),
        None => None,
    };
    let store = Store::connect(&settings.database_url).await?;
    let addr = settings.listen_addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    if !addr.ip().is_loopback() && tls.is_none() {
        // Bearer tokens would cross the network readable.
        eprintln!(
            "warning: serving {addr} without TLS: tokens and data cross the network in clear text; \
             give --tls-cert and --tls-key, put attain behind a reverse proxy that terminates TLS \
             (see docs/api.md), or listen on 127.0.0.1"
        );
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let state = Arc::new(AppState::new(store.clone(), settings));
    eprintln!(
        "attain {} serving {scheme}://{} (OpenAPI at /openapi.json); Ctrl-C or SIGTERM stops it",
        env!("CARGO_PKG_VERSION"),
        listener.local_addr()?
    );
    api::serve(listener, state, tls, api::shutdown_signal()).await?;
    store.close().await;
    eprintln!("stopped");
    Ok(())
}
