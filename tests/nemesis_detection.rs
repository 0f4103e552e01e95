//! Detection: etcd with serializable reads under the partition nemesis is found
//! non-linearizable. `tests/etcd-serializable-reads.yaml` is run as shipped on a 3-node lab
//! ([`nemesis_common::detect`]): in CI until one run catches it (at most 3); as the
//! detection-power benchmark (`SPLITBRAIN_DETECTION=measure`) 10 runs, at least 9 caught.
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
