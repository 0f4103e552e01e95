//! One module per subcommand.

pub mod check;
pub mod db;
pub mod lab;
pub mod nodes;
pub mod test;
