//! `splitbrain heal`: remove every fault splitbrain can cause from the nodes.

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use splitbrain_control::Cluster;
use splitbrain_control::db::Db;
use splitbrain_nemeses::{HealOptions, heal_all};

use crate::cli::nodes::NodeArgs;
use crate::exit;

/// Remove every fault splitbrain can cause from the nodes (the lab's, without node flags):
/// our iptables chains and their jumps, our netem qdisc, processes paused by splitbrain,
/// clock loops and clock offsets. For when a run was killed before it could heal; safe to
/// run at any time, any number of times. Exit 0 when every node is healed.
#[derive(clap::Args, Debug)]
pub struct HealArgs {
    #[command(flatten)]
    pub nodes: NodeArgs,
    /// Database definition (e.g. dbs/etcd.yaml): also resume its stopped processes and reset
    /// its own clock file.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Start the database where it is not running and wait until every node is ready
    /// (needs --db).
    #[arg(long, requires = "db")]
    pub restart: bool,
}

pub fn run(args: HealArgs) -> Result<u8> {
    let rt = crate::cli::runtime()?;
    rt.block_on(async move {
        let def = match &args.db {
            Some(path) => Some(splitbrain::builtin::load_db(path)?),
            None => None,
        };
        let resolved = args.nodes.resolve()?;
        let cluster = Cluster::connect(&resolved.nodes, &resolved.ssh)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let db = match def {
            Some(def) => Some(Db::new(def, &cluster)?),
            None => None,
        };
        let report = heal_all(
            &cluster,
            db.as_ref(),
            HealOptions {
                restart: args.restart,
            },
        )
        .await;
        println!("{report}");
        if !report.is_ok() {
            eprintln!("error: some faults could not be healed (see NOT HEALED above)");
            return Ok(exit::ERROR);
        }
        println!(
            "{}",
            if report.healed_anything() {
                "healed"
            } else {
                "nothing to heal: no fault of splitbrain's on these nodes"
            }
        );
        Ok(exit::VALID)
    })
}
