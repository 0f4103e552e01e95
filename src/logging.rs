//! Logs: through `tracing`, to the terminal (without tearing the progress bar)
//! and, while a test runs, to the run's `controller.log`.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use indicatif::ProgressBar;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

static RUN_LOG: Mutex<Option<File>> = Mutex::new(None);
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);
static INIT: OnceLock<()> = OnceLock::new();

/// Installs the global subscriber once: `RUST_LOG` (default `info`) for the
/// terminal, everything at debug level into the current run's log file.
pub fn init() {
    INIT.get_or_init(|| {
        let terminal = tracing_subscriber::fmt::layer()
            .with_writer(TerminalWriter)
            .with_target(false)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_filter(
                EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
            );
        let file = tracing_subscriber::fmt::layer()
            .with_writer(RunLogWriter)
            .with_ansi(false)
            .with_filter(EnvFilter::new("debug,hyper=info,reqwest=info,h2=info"));
        let _ = tracing_subscriber::registry()
            .with(terminal)
            .with(file)
            .try_init();
    });
}

/// Sends subsequent log lines to `path` too (the run's `controller.log`).
pub fn log_run_to(path: &Path) -> io::Result<()> {
    let f = File::create(path)?;
    *RUN_LOG.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
    Ok(())
}

/// Stops writing to the run's log file.
pub fn end_run_log() {
    if let Some(mut f) = RUN_LOG.lock().unwrap_or_else(|p| p.into_inner()).take() {
        let _ = f.flush();
    }
}

/// Registers the progress bar that terminal log lines must step around.
pub fn set_progress_bar(bar: Option<ProgressBar>) {
    *BAR.lock().unwrap_or_else(|p| p.into_inner()) = bar;
}

struct TerminalWriter;

impl<'a> MakeWriter<'a> for TerminalWriter {
    type Writer = LineToTerminal;
    fn make_writer(&'a self) -> LineToTerminal {
        LineToTerminal(Vec::new())
    }
}

/// Buffers one event and prints it with the progress bar suspended, so the bar
/// is redrawn below the line instead of being torn by it.
pub struct LineToTerminal(Vec<u8>);

impl Write for LineToTerminal {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineToTerminal {
    fn drop(&mut self) {
        let bytes = std::mem::take(&mut self.0);
        let print = || {
            let _ = io::stderr().write_all(&bytes);
        };
        match BAR.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }
}

struct RunLogWriter;

impl<'a> MakeWriter<'a> for RunLogWriter {
    type Writer = RunLogLine;
    fn make_writer(&'a self) -> RunLogLine {
        RunLogLine
    }
}

pub struct RunLogLine;

impl Write for RunLogLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(f) = RUN_LOG.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            f.write_all(buf)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
