//! Serving the router on a socket: plain HTTP or TLS (rustls, through
//! `axum-server`), a limit on connections held open at once, a time limit
//! on reading a request's headers, graceful shutdown, and the process's
//! job worker.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use axum_server::{Handle, Server};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::state::AppState;
use crate::config::TlsFiles;
use crate::jobs::queue::Worker;

/// Longest requests in flight are given to finish once shutdown begins.
const DRAIN: Duration = Duration::from_secs(30);

/// Reads the TLS certificate chain and key (PEM). The error names the file.
pub async fn tls_config(files: &TlsFiles) -> io::Result<RustlsConfig> {
    // One provider for the process: ring, the one rustls is built with.
    let _ = rustls::crypto::ring::default_provider().install_default();
    for path in [&files.cert, &files.key] {
        if !path.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("TLS file {} does not exist", path.display()),
            ));
        }
    }
    RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "TLS certificate {} or key {}: {e}",
                    files.cert.display(),
                    files.key.display()
                ),
            )
        })
}

/// Serves until `shutdown` resolves, then lets requests in flight finish
/// (up to 30 s). With `tls`, answers HTTPS only.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    tls: Option<RustlsConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max_connections = state.settings.max_connections;
    let header_timeout = state.settings.header_timeout;
    let (router, _) = super::router(state.clone());
    let limit = Limit::new(max_connections);
    let handle = Handle::new();
    let stopper = handle.clone();
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    spawn_worker(&state, async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|s| *s).await;
    });
    tokio::spawn(async move {
        shutdown.await;
        let _ = stopping.send(true);
        stopper.graceful_shutdown(Some(DRAIN));
    });
    let server = axum_server::from_tcp(listener.into_std()?)?.handle(handle);
    let app = router.into_make_service();
    match tls {
        Some(config) => {
            let acceptor = RustlsAcceptor::new(config).acceptor(limit);
            configured(server.acceptor(acceptor), header_timeout)
                .serve(app)
                .await
        }
        None => {
            configured(server.acceptor(limit), header_timeout)
                .serve(app)
                .await
        }
    }
}

/// The header-read and first-request timeouts, and a log line for a
/// refused or failed connection.
fn configured<A>(
    mut server: Server<std::net::SocketAddr, A>,
    header_timeout: Duration,
) -> Server<std::net::SocketAddr, A> {
    server
        .http_builder()
        .http1()
        .header_read_timeout(Some(header_timeout));
    server
        .first_request_timeout(header_timeout)
        .accept_error_handler(|peer, error| {
            tracing::warn!(peer = ?peer, error = %error, "connection not served");
        })
}

/// Holds a permit per open connection; a connection beyond the limit is
/// closed at once.
#[derive(Clone)]
pub struct Limit {
    permits: Arc<Semaphore>,
}

impl Limit {
    /// At most `n` connections at once.
    pub fn new(n: usize) -> Limit {
        Limit {
            permits: Arc::new(Semaphore::new(n)),
        }
    }
}

impl<I, S> Accept<I, S> for Limit
where
    I: Send + 'static,
    S: Send + 'static,
{
    type Stream = Held<I>;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Held<I>, S)>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let accepted = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => Ok((
                Held {
                    stream,
                    _permit: permit,
                },
                service,
            )),
            Err(_) => Err(io::Error::other(
                "too many connections open (max_connections); this one was closed",
            )),
        };
        std::future::ready(accepted)
    }
}

/// A connection and its permit, given back when the connection closes.
pub struct Held<I> {
    stream: I,
    _permit: OwnedSemaphorePermit,
}

impl<I: AsyncRead + Unpin> AsyncRead for Held<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Held<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Starts this process's job worker (training and refresh jobs queued by
/// any replica), recording each job's duration in the metrics; it stops
/// claiming when `stop` resolves.
pub fn spawn_worker(
    state: &Arc<AppState>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let observed = state.clone();
    let worker = Worker::new(
        state.store.clone(),
        state.settings.clone(),
        "serve",
        state.wake.clone(),
    )
    .observed(Arc::new(move |kind, ok, seconds| {
        observed.metrics.job(kind, ok, seconds);
    }));
    tokio::spawn(worker.run(stop))
}
