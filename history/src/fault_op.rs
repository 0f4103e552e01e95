//! The names of the nemesis's ops, defined once: the nemesis writes them, reports and
//! tests read them.
//!
//! A fault `<name>` that took effect is an `info` op of process `nemesis` with
//! `f` = `start-<name>`; once healed, `stop-<name>`. After a clock change,
//! [`CLOCK_OFFSETS`] holds each node's measured offset. Jepsen's own histories use the
//! same shape (`:start-partition`, `:stop-partition`), so imported ones read alike.

use std::fmt;

/// `f` of the op that records every node's clock offset, in milliseconds.
pub const CLOCK_OFFSETS: &str = "clock-offsets";

/// Whether a fault op begins or ends a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultEdge {
    Start,
    Stop,
}

impl FaultEdge {
    fn prefix(self) -> &'static str {
        match self {
            FaultEdge::Start => "start-",
            FaultEdge::Stop => "stop-",
        }
    }
}

/// A parsed fault op name: `start-partition` is `(Start, "partition")`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaultOp<'a> {
    pub edge: FaultEdge,
    pub fault: &'a str,
}

impl<'a> FaultOp<'a> {
    pub fn start(fault: &'a str) -> FaultOp<'a> {
        FaultOp {
            edge: FaultEdge::Start,
            fault,
        }
    }

    pub fn stop(fault: &'a str) -> FaultOp<'a> {
        FaultOp {
            edge: FaultEdge::Stop,
            fault,
        }
    }

    /// The fault op `f` names, if it is one (`start-x` or `stop-x` with a non-empty `x`).
    pub fn parse(f: &'a str) -> Option<FaultOp<'a>> {
        [FaultEdge::Start, FaultEdge::Stop]
            .into_iter()
            .find_map(|edge| {
                f.strip_prefix(edge.prefix())
                    .filter(|fault| !fault.is_empty())
                    .map(|fault| FaultOp { edge, fault })
            })
    }

    /// The op's `f`: `start-partition`.
    pub fn name(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for FaultOp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.edge.prefix(), self.fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for op in [FaultOp::start("partition"), FaultOp::stop("clock")] {
            assert_eq!(FaultOp::parse(&op.name()), Some(op));
        }
        assert_eq!(FaultOp::start("kill").name(), "start-kill");
        assert_eq!(FaultOp::parse("start-"), None);
        assert_eq!(FaultOp::parse("read"), None);
        assert_eq!(FaultOp::parse(CLOCK_OFFSETS), None);
    }
}
