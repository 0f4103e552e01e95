//! A multi-register: `txn` ops holding micro-ops `[read k v]` and `[write k v]`,
//! applied atomically in order, as Knossos' multi-register.
//!
//! Registers start at the spec's initial value (Knossos' test histories
//! assume 0). In an ok txn a read's value is what it saw (`nil` means it saw
//! `nil`); in an info txn reads are unknown and dropped, only its writes count.
//! Each register is a part for P-compositionality: txns over disjoint registers
//! are checked separately.

use splitbrain_history::Value;

use super::{CallView, Interner, Model, Outcome, mix32};
use crate::equality::{self, TypeClash};
use crate::hash::{FastMap, SeqInterner};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Micro {
    write: bool,
    register: u32,
    value: u32,
}

#[derive(Clone)]
pub struct MultiRegister {
    registers: Interner<Value>,
    values: Interner<Value>,
    txns: Interner<Vec<Micro>>,
    /// Value ids, one per register.
    states: SeqInterner,
    init_value: u32,
    memo: FastMap<(u32, u32), Option<u32>>,
    scratch: Vec<u32>,
}

impl MultiRegister {
    pub fn new(initial: Value) -> MultiRegister {
        let mut values = Interner::default();
        let init_value = values.intern(initial);
        MultiRegister {
            registers: Interner::default(),
            values,
            txns: Interner::default(),
            states: SeqInterner::default(),
            init_value,
            memo: FastMap::default(),
            scratch: Vec::new(),
        }
    }

    fn parse_micro(&mut self, m: &Value, outcome: Outcome) -> Result<Option<Micro>, String> {
        let expected = "a txn holds micro-ops [read k v] or [write k v]";
        let Value::List(parts) = m else {
            return Err(format!("{expected}, found {} ({m})", m.kind_name()));
        };
        let [f, k, v] = parts.as_slice() else {
            return Err(format!("{expected}, found a list of {} ({m})", parts.len()));
        };
        let write = match f.as_str() {
            Some("read" | "r") => false,
            Some("write" | "w") => true,
            _ => return Err(format!("{expected}, found the micro-op {f} in {m}")),
        };
        let register = self.registers.intern(k.clone());
        if !write && outcome == Outcome::Info {
            // What an info txn read is unknown: no constraint.
            return Ok(None);
        }
        let value = self.values.intern(v.clone());
        Ok(Some(Micro {
            write,
            register,
            value,
        }))
    }
}

impl Model for MultiRegister {
    type State = u32;
    type Op = u32;

    fn object(&self) -> &'static str {
        "multi-register"
    }

    fn compile(&mut self, call: &CallView) -> Result<Option<u32>, String> {
        if call.f != "txn" {
            return Err(format!(
                "the multi-register model has no operation `{}`; expected txn",
                call.f
            ));
        }
        let v = call.argument();
        let Value::List(micro) = v else {
            return Err(format!(
                "a txn's value is a list of micro-ops [read k v] / [write k v], found {} ({v})",
                v.kind_name()
            ));
        };
        let mut txn = Vec::with_capacity(micro.len());
        for m in micro {
            if let Some(m) = self.parse_micro(m, call.outcome)? {
                txn.push(m);
            }
        }
        if txn.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.txns.intern(txn)))
    }

    fn parts(&self, op: u32, out: &mut Vec<u32>) {
        out.extend(self.txns.get(op).iter().map(|m| m.register));
    }

    fn init(&mut self) -> u32 {
        let regs = self.registers.len();
        self.states.intern(&vec![self.init_value; regs])
    }

    fn step(&mut self, s: u32, op: u32) -> Option<u32> {
        if let Some(&t) = self.memo.get(&(s, op)) {
            return t;
        }
        let mut regs = std::mem::take(&mut self.scratch);
        regs.clear();
        regs.extend_from_slice(self.states.get(s));
        let mut ok = true;
        for m in self.txns.get(op) {
            let slot = &mut regs[m.register as usize];
            if m.write {
                *slot = m.value;
            } else if *slot != m.value {
                ok = false;
                break;
            }
        }
        let t = ok.then(|| self.states.intern(&regs));
        self.scratch = regs;
        self.memo.insert((s, op), t);
        t
    }

    fn finite_states(&self) -> bool {
        true
    }

    fn is_read_only(&self, op: u32) -> bool {
        self.txns.get(op).iter().all(|m| !m.write)
    }

    fn hash_state(&self, s: u32) -> u64 {
        mix32(s)
    }

    fn memory_bytes(&self) -> u64 {
        self.states.bytes() + self.memo.capacity() as u64 * 16
    }

    fn show_state(&self, s: u32) -> String {
        let regs = self.states.get(s);
        let mut out = String::from("{");
        for (r, &v) in regs.iter().enumerate() {
            if r > 0 {
                out.push_str(", ");
            }
            out += &format!(
                "{} {}",
                equality::shown(self.registers.get(r as u32)),
                equality::shown(self.values.get(v))
            );
        }
        out.push('}');
        out
    }

    fn explain(&mut self, s: u32, op: u32) -> String {
        match self.first_bad_read(s, op) {
            Some((register, saw, held)) => {
                let name = equality::shown(self.registers.get(register));
                let c = equality::contrast(self.values.get(saw), self.values.get(held));
                format!(
                    "can't read {} from {name}, which holds {}{}",
                    c.found, c.held, c.tail
                )
            }
            None => "it fits here".into(),
        }
    }

    fn type_clash(&mut self, s: u32, op: u32) -> Option<TypeClash> {
        let (_, saw, held) = self.first_bad_read(s, op)?;
        equality::clash(self.values.get(saw), self.values.get(held))
    }
}

impl MultiRegister {
    /// The first read of txn `op` that state `s` contradicts: (register, value
    /// read, value held), after the txn's earlier writes.
    fn first_bad_read(&self, s: u32, op: u32) -> Option<(u32, u32, u32)> {
        let mut regs = self.states.get(s).to_vec();
        for m in self.txns.get(op) {
            if m.write {
                regs[m.register as usize] = m.value;
            } else if regs[m.register as usize] != m.value {
                return Some((m.register, m.value, regs[m.register as usize]));
            }
        }
        None
    }
}
