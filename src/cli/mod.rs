//! One module per subcommand.

pub mod check;
pub mod db;
pub mod gate;
pub mod heal;
pub mod lab;
pub mod nodes;
pub mod serve;
pub mod test;
