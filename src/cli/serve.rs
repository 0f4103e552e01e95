//! `splitbrain serve`: the store over HTTP, for people who prefer browsing to
//! opening files — the index of runs at `/`, every report and file below it.

use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use tower_http::services::ServeDir;

/// Longest request target answered; store paths are a few hundred bytes at most. Longer
/// ones get 414 rather than a file-system error.
const MAX_URI: usize = 8 * 1024;

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
        // Resolved once: every request must resolve to a path below this one.
        let root = std::fs::canonicalize(&args.store)
            .with_context(|| format!("cannot resolve {}", args.store.display()))?;
        let files = ServeDir::new(&root).append_index_html_on_directories(true);
        let app = axum::Router::new()
            .fallback_service(files)
            .layer(middleware::from_fn_with_state(Arc::new(root), guard));
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("the server stopped")?;
        Ok(0)
    })
}

/// In front of ServeDir, which follows symbolic links wherever they point: a store is
/// often served as root, and `store/x -> /etc` must not hand out /etc/shadow. Links that
/// stay inside the store (`<test>/latest -> <time>`) keep working.
async fn guard(State(root): State<Arc<PathBuf>>, req: Request, next: Next) -> Response {
    let len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if len > MAX_URI {
        return (StatusCode::URI_TOO_LONG, "URI too long\n").into_response();
    }
    let path = req.uri().path().to_string();
    let root2 = Arc::clone(&root);
    let inside = tokio::task::spawn_blocking(move || stays_inside(&root2, &path))
        .await
        .unwrap_or(false);
    if inside {
        next.run(req).await
    } else {
        // The same answer as for a missing file: whether something exists outside the
        // store is none of the client's business.
        StatusCode::NOT_FOUND.into_response()
    }
}

/// Whether the file ServeDir would serve for the URL `path` is, after resolving every
/// symbolic link, inside `root` (canonical). Decodes the path the way ServeDir does.
fn stays_inside(root: &Path, path: &str) -> bool {
    let Ok(decoded) = percent_decode_str(path.trim_start_matches('/')).decode_utf8() else {
        return false;
    };
    if decoded.contains(['\0', '\\']) {
        return false;
    }
    let mut target = root.to_path_buf();
    for c in Path::new(&*decoded).components() {
        match c {
            Component::Normal(part) => target.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    let inside = |p: &Path| std::fs::canonicalize(p).is_ok_and(|real| real.starts_with(root));
    if !inside(&target) {
        return false;
    }
    // A directory is answered with its index.html, which may itself be a link. (No is_dir
    // first: below anything but a directory the lstat fails with ENOTDIR.)
    let index = target.join("index.html");
    index.symlink_metadata().is_err() || inside(&index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_that_resolve_inside_the_store_are_served() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("store");
        let run = root.join("t/20260101T000000.000Z");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("report.html"), "r").unwrap();
        std::os::unix::fs::symlink("20260101T000000.000Z", root.join("t/latest")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("evil")).unwrap();
        std::fs::create_dir(root.join("d")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", root.join("d/index.html")).unwrap();
        let root = std::fs::canonicalize(&root).unwrap();
        for ok in [
            "/",
            "/t/latest/report.html",
            "/t/latest/",
            "/t/%6catest/report.html",
        ] {
            assert!(stays_inside(&root, ok), "{ok}");
        }
        for bad in [
            "/evil/passwd",
            "/evil/",
            "/d/",
            "/d",
            "/../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/t/..%2f..%2fetc/passwd",
            "/t\\..\\..\\etc",
            "/t/latest%00/report.html",
            "/%ff",
            "/missing",
        ] {
            assert!(!stays_inside(&root, bad), "{bad}");
        }
    }
}
