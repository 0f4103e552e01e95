//! Registers: `read`, `write v` and (for the cas-register) `cas [old new]`.
//!
//! Values are interned; the state is the id of the value held. A read that
//! returns `nil` read the initial `nil` (it does not mean "unknown": an `info`
//! read, whose result is unknown, is dropped instead since it constrains
//! nothing). A failed cas is a `fail` op and never reaches the model.

use splitbrain_history::Value;

use super::{CallView, Interner, Model, Outcome, mix32};
use crate::equality::{self, TypeClash};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegisterOp {
    Read(u32),
    Write(u32),
    Cas(u32, u32),
}

/// A single register; with `cas` enabled, a compare-and-set register.
#[derive(Clone)]
pub struct Register {
    cas: bool,
    values: Interner<Value>,
    init: u32,
}

impl Register {
    pub fn new(initial: Value, cas: bool) -> Register {
        let mut values = Interner::default();
        let init = values.intern(initial);
        Register { cas, values, init }
    }

    fn show(&self, id: u32) -> String {
        equality::shown(self.values.get(id))
    }
}

impl Model for Register {
    type State = u32;
    type Op = RegisterOp;

    fn object(&self) -> &'static str {
        "register"
    }

    fn compile(&mut self, call: &CallView) -> Result<Option<RegisterOp>, String> {
        match call.f {
            "read" => match call.outcome {
                Outcome::Info => Ok(None),
                Outcome::Ok => {
                    let v = call.complete.unwrap_or(&Value::Nil).clone();
                    Ok(Some(RegisterOp::Read(self.values.intern(v))))
                }
            },
            "write" => Ok(Some(RegisterOp::Write(
                self.values.intern(call.argument().clone()),
            ))),
            "cas" if self.cas => match call.argument() {
                Value::List(pair) if pair.len() == 2 => {
                    let old = self.values.intern(pair[0].clone());
                    let new = self.values.intern(pair[1].clone());
                    Ok(Some(RegisterOp::Cas(old, new)))
                }
                other => Err(format!(
                    "cas expects a pair [old new], found {} ({other})",
                    other.kind_name()
                )),
            },
            "cas" => Err(
                "the register model has no cas; use --model cas-register for read, write and cas"
                    .into(),
            ),
            f => Err(format!(
                "the {} model has no operation `{f}`; expected {}",
                if self.cas { "cas-register" } else { "register" },
                if self.cas {
                    "read, write or cas"
                } else {
                    "read or write"
                }
            )),
        }
    }

    fn init(&mut self) -> u32 {
        self.init
    }

    #[inline]
    fn step(&mut self, s: u32, op: RegisterOp) -> Option<u32> {
        match op {
            RegisterOp::Read(v) => (v == s).then_some(s),
            RegisterOp::Write(v) => Some(v),
            RegisterOp::Cas(old, new) => (old == s).then_some(new),
        }
    }

    fn finite_states(&self) -> bool {
        true
    }

    fn is_read_only(&self, op: RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
    }

    #[inline]
    fn hash_state(&self, s: u32) -> u64 {
        mix32(s)
    }

    fn show_state(&self, s: u32) -> String {
        self.show(s)
    }

    fn explain(&mut self, s: u32, op: RegisterOp) -> String {
        match op {
            RegisterOp::Read(v) => {
                let c = equality::contrast(self.values.get(v), self.values.get(s));
                format!(
                    "can't read {} from a register holding {}{}",
                    c.found, c.held, c.tail
                )
            }
            RegisterOp::Write(_) => "a write always succeeds".into(),
            RegisterOp::Cas(old, new) => match self.type_clash(s, op) {
                Some(c) => format!(
                    "can't cas from {} to {}: the register holds {}{}",
                    c.found_typed(),
                    self.show(new),
                    c.held_typed(),
                    c.tail()
                ),
                None => format!(
                    "can't cas {} from {} to {}",
                    self.show(s),
                    self.show(old),
                    self.show(new)
                ),
            },
        }
    }

    fn type_clash(&mut self, s: u32, op: RegisterOp) -> Option<TypeClash> {
        match op {
            RegisterOp::Read(v) | RegisterOp::Cas(v, _) if v != s => {
                equality::clash(self.values.get(v), self.values.get(s))
            }
            _ => None,
        }
    }
}
