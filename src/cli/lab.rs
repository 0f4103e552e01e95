//! `splitbrain lab up|down|status`: local nodes made of namespaces.

use std::path::PathBuf;
use std::time::Instant;

use splitbrain::builtin;
use splitbrain_control::lab;

/// Local lab nodes on this machine: each a set of Linux namespaces with its own address,
/// sshd, hostname, processes, /opt, /run, /tmp, /var/log and database directory. Needs root.
#[derive(clap::Args, Debug)]
pub struct LabArgs {
    #[command(subcommand)]
    pub action: LabAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum LabAction {
    /// Create the nodes and start their sshd; write the inventory other commands use.
    Up(UpArgs),
    /// Remove everything the lab created (also after a crash; running it twice is fine).
    Down(Where),
    /// Show each node: namespace, processes, sshd answering. Exit 0 when all are up.
    Status(Where),
}

/// Which lab.
#[derive(clap::Args, Debug)]
pub struct Where {
    /// Lab directory (keys, per-node files, inventory.json). Must not be under a directory
    /// that is private to nodes (/tmp, /run, /var/log, /opt, ...).
    #[arg(long, env = "SPLITBRAIN_LAB_DIR", default_value = lab::DEFAULT_DIR, value_name = "DIR")]
    pub lab_dir: PathBuf,
    /// Lab name, carried by every namespace, link and chain it creates (sb-NAME-...).
    /// Lets several labs coexist.
    #[arg(long, default_value = lab::DEFAULT_NAME)]
    pub name: String,
}

#[derive(clap::Args, Debug)]
pub struct UpArgs {
    /// Number of nodes, named n1..nN.
    #[arg(long, default_value_t = 5)]
    pub nodes: usize,
    /// IPv4 subnet for the nodes (private range, /16 to /29); nodes get .1, .2, ...; the
    /// host gets the last address.
    #[arg(long, default_value = lab::DEFAULT_SUBNET, value_name = "CIDR")]
    pub subnet: String,
    /// Another directory to make private to each node (repeatable), e.g. a database's data
    /// directory under /var/lib.
    #[arg(long = "private-dir", value_name = "PATH", long_help = private_dir_help())]
    pub private_dirs: Vec<String>,
    /// A database definition whose `private_dirs` each node gets to itself too (repeatable;
    /// a file, or builtin:NAME). The built-in databases' always are.
    #[arg(long = "db", value_name = "FILE")]
    pub dbs: Vec<PathBuf>,
    /// Let sshd on the nodes accept passwords (for users other than root).
    #[arg(long)]
    pub password_auth: bool,
    #[command(flatten)]
    pub lab: Where,
}

pub fn run(args: LabArgs) -> anyhow::Result<u8> {
    let rt = crate::cli::runtime()?;
    rt.block_on(async move {
        match args.action {
            LabAction::Up(up) => {
                let dbs = up
                    .dbs
                    .iter()
                    .map(|f| builtin::load_db(f))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let mut cfg = builtin::lab_config(up.nodes, &dbs)?;
                cfg.dir = up.lab.lab_dir;
                cfg.name = up.lab.name;
                cfg.subnet = up.subnet;
                cfg.password_auth = up.password_auth;
                cfg.make_private(&up.private_dirs);
                let started = Instant::now();
                let inv = lab::up(&cfg).await?;
                println!(
                    "lab {:?} up: {} nodes in {:.2}s",
                    cfg.name,
                    inv.nodes.len(),
                    started.elapsed().as_secs_f64()
                );
                for n in &inv.nodes {
                    println!("  {:<6} {}", n.name, n.host);
                }
                let key = inv
                    .private_key
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                let kh = inv
                    .known_hosts
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                println!("inventory: {}", cfg.dir.join("inventory.json").display());
                if let Some(first) = inv.nodes.first() {
                    println!(
                        "log in:    ssh -i {key} -o UserKnownHostsFile={kh} root@{}",
                        first.host
                    );
                }
                println!(
                    "tear down: splitbrain lab down{}",
                    flags(&cfg.name, &cfg.dir)
                );
                Ok(0)
            }
            LabAction::Down(w) => {
                let report = lab::down(&w.lab_dir, &w.name).await?;
                println!("{report}");
                Ok(0)
            }
            LabAction::Status(w) => {
                let st = lab::status(&w.lab_dir, &w.name).await?;
                if st.nodes.is_empty() && st.stray_namespaces.is_empty() {
                    println!(
                        "lab {:?}: not up (no state in {})",
                        st.name,
                        st.dir.display()
                    );
                    return Ok(1);
                }
                println!(
                    "lab {:?} in {} (subnet {})",
                    st.name,
                    st.dir.display(),
                    st.subnet.as_deref().unwrap_or("?")
                );
                for n in &st.nodes {
                    let word =
                        |ok: bool, yes: &'static str, no: &'static str| if ok { yes } else { no };
                    println!(
                        "  {:<6} {:<15} {:<13} {:<12} {}",
                        n.name,
                        n.addr.as_deref().unwrap_or("?"),
                        word(n.namespace, "namespace", "no namespace"),
                        word(n.running, "running", "not running"),
                        word(n.ssh, "ssh ok", "ssh closed"),
                    );
                }
                if !st.stray_namespaces.is_empty() {
                    println!(
                        "  leftovers: {} (remove with `splitbrain lab down`)",
                        st.stray_namespaces.join(", ")
                    );
                }
                Ok(if st.healthy() { 0 } else { 1 })
            }
        }
    })
}

/// `--private-dir`'s help, naming what is always private (from the lab and the built-in
/// definitions, not a list typed here).
fn private_dir_help() -> String {
    let always = builtin::lab_config(1, &[])
        .map(|c| c.private_dirs.join(", "))
        .unwrap_or_else(|e| format!("(unknown: {e})"));
    format!(
        "Another directory to make private to each node (repeatable), e.g. a database's data \
         directory under /var/lib. Always private: {always} (the generic ones and the built-in \
         databases' private_dirs); --db FILE adds a definition's."
    )
}

fn flags(name: &str, dir: &std::path::Path) -> String {
    let mut s = String::new();
    if name != lab::DEFAULT_NAME {
        s.push_str(&format!(" --name {name}"));
    }
    if dir != std::path::Path::new(lab::DEFAULT_DIR) {
        s.push_str(&format!(" --lab-dir {}", dir.display()));
    }
    s
}
