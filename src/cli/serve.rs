//! `splitbrain serve`: the store over HTTP, for people who prefer browsing to
//! opening files — the index of runs at `/`, every report and file below it.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use tower_http::services::ServeDir;

/// Serve the store for browsing: the index of every run, their reports, histories and logs.
///
/// Listens on 127.0.0.1 (this machine only) unless --bind says otherwise.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Store directory.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on; e.g. 0.0.0.0 to let other machines browse the store.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
}

pub fn run(args: ServeArgs) -> Result<u8> {
    if !args.store.is_dir() {
        bail!(
            "no store at {}: run a test first (`splitbrain test`), or pass --store DIR",
            args.store.display()
        );
    }
    // Runs stored by an older splitbrain, or copied in by hand, get listed too.
    splitbrain::report::write_index(&args.store)
        .with_context(|| format!("cannot write the index of {}", args.store.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind((args.bind, args.port))
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}:{} (is another server on that port? try --port)",
                    args.bind, args.port
                )
            })?;
        let addr = listener.local_addr()?;
        println!(
            "serving {} at http://{addr}/ (Ctrl-C to stop)",
            args.store.display()
        );
        let files = ServeDir::new(&args.store).append_index_html_on_directories(true);
        let app = axum::Router::new().fallback_service(files);
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("the server stopped")?;
        Ok(0)
    })
}
