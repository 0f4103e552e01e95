//! One module per subcommand.

pub mod check;
pub mod client_check;
pub mod db;
pub mod gate;
pub mod heal;
pub mod lab;
pub mod nodes;
pub mod serve;
pub mod test;

/// The tokio runtime every async subcommand runs on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
