//! A lock: `acquire` and `release`, as Knossos' mutex model.
//!
//! Acquiring a held lock and releasing a free one are impossible. A `fail`
//! release (Jepsen's etcd lock tests report `:not-held` this way) certainly
//! did not happen and is dropped before the model sees it. Values are ignored.

use super::{CallView, Model};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MutexOp {
    Acquire,
    Release,
}

#[derive(Debug, Clone, Default)]
pub struct Mutex;

impl Model for Mutex {
    type State = bool;
    type Op = MutexOp;

    fn object(&self) -> &'static str {
        "lock"
    }

    fn compile(&mut self, call: &CallView) -> Result<Option<MutexOp>, String> {
        match call.f {
            "acquire" => Ok(Some(MutexOp::Acquire)),
            "release" => Ok(Some(MutexOp::Release)),
            f => Err(format!(
                "the mutex model has no operation `{f}`; expected acquire or release"
            )),
        }
    }

    fn init(&mut self) -> bool {
        false
    }

    #[inline]
    fn step(&mut self, held: bool, op: MutexOp) -> Option<bool> {
        match op {
            MutexOp::Acquire => (!held).then_some(true),
            MutexOp::Release => held.then_some(false),
        }
    }

    fn finite_states(&self) -> bool {
        true
    }

    fn is_read_only(&self, _op: MutexOp) -> bool {
        false
    }

    fn hash_state(&self, held: bool) -> u64 {
        if held {
            0x9e37_79b9_7f4a_7c15
        } else {
            0x3c6e_f372_fe94_f82a
        }
    }

    fn show_state(&self, held: bool) -> String {
        if held { "held" } else { "free" }.into()
    }

    fn explain(&mut self, held: bool, op: MutexOp) -> String {
        match (op, held) {
            (MutexOp::Acquire, true) => "can't acquire a lock that is already held".into(),
            (MutexOp::Release, false) => "can't release a lock that is not held".into(),
            _ => "it fits here".into(),
        }
    }
}
