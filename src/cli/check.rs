//! `splitbrain check`: verdicts on history files.

use std::path::PathBuf;

/// Check histories for linearizability against a model.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// History files (JSON Lines, Jepsen EDN or Jepsen log lines).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(_args: CheckArgs) -> anyhow::Result<u8> {
    anyhow::bail!("splitbrain check is being built")
}
