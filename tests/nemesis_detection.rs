//! Detection: etcd with serializable reads under the partition nemesis is found
//! non-linearizable. `tests/etcd-serializable-reads.yaml` is run as shipped, ten times on a
//! 3-node lab (fixed seeds 1..=10, so that a miss can be replayed), and must be caught in at
//! least 9 of the 10 runs ([`nemesis_common::detect`]). The detection rate is printed.
//! Needs root (runs under CI=true; skips elsewhere with the reason).

mod common;
mod nemesis_common;

use common::lab_available;
use nemesis_common::detect;

#[test]
fn etcd_serializable_reads_are_caught_under_partitions() {
    if !lab_available("etcd_serializable_reads_are_caught_under_partitions") {
        return;
    }
    detect("ndet", 86, "etcd-serializable-reads");
}
