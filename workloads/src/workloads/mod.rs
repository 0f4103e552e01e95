//! The workloads, one module each; [`crate::workload::WORKLOADS`] lists them.

pub mod counter;
pub mod register;
pub mod set;
pub mod unique_ids;
