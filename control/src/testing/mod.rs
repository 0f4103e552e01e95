//! Test kits for this crate's tests and other crates' (feature `testing`, taken as a
//! dev-dependency: `splitbrain-control = { workspace = true, features = ["testing"] }`).
//! Node scripts have their own kit, always built: [`crate::db::scripts::testing`].

pub mod lab;
