//! The lab tests' kit is the crate's own, shared with every other crate's lab tests:
//! [`splitbrain_control::testing::lab`].
#![allow(unused_imports)]

pub use splitbrain_control::testing::lab::{
    ETCD, FAKETIME, Need, TC, assert_clean, available, config, connect, lab_available, with_lab,
};
