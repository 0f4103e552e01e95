//! Helpers shared by this crate's unit tests, integration tests and benchmark:
//! not part of the API.

use std::path::{Path, PathBuf};

use splitbrain_history::{History, Op, OpType, Process, Value};

use crate::{ModelKind, ModelSpec, Verdict};

/// A history from `(process, type, f, value)` rows, indexed in order.
pub fn history(rows: &[(u64, OpType, &str, Value)]) -> History {
    let ops = rows
        .iter()
        .enumerate()
        .map(|(i, (p, kind, f, v))| {
            let mut op = Op::new(Process::Client(*p), *kind, f, v.clone());
            op.index = i as u64;
            op
        })
        .collect();
    History::new(ops).unwrap()
}

/// xorshift64*: a tiny deterministic PRNG, so tests and benches need no dependency.
pub struct Rng(pub u64);

impl Rng {
    // An endless stream, not an iterator that ends: `next` is the PRNG's word.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Every (file, model, expected verdict) of the Knossos corpus at `dir`
/// (`<model>/good` valid, `<model>/bad` invalid), sorted.
pub fn knossos_cases(dir: &Path) -> Vec<(PathBuf, ModelKind, Verdict)> {
    let mut out = Vec::new();
    for model_dir in std::fs::read_dir(dir).unwrap() {
        let model_dir = model_dir.unwrap().path();
        let model: ModelKind = model_dir
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        for (sub, verdict) in [("good", Verdict::Valid), ("bad", Verdict::Invalid)] {
            let Ok(files) = std::fs::read_dir(model_dir.join(sub)) else {
                continue;
            };
            for f in files {
                out.push((f.unwrap().path(), model, verdict));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The verdict splitbrain owes a corpus history filed under `folder`'s
/// verdict: Knossos calls a history without any `ok` client op valid (some of
/// its `good` histories hold only nemesis ops); splitbrain calls it unknown,
/// too little to judge.
pub fn expected_verdict(history: &History, folder: Verdict) -> Verdict {
    let evidence = history
        .ops()
        .iter()
        .any(|o| o.is_client() && o.kind == OpType::Ok);
    if evidence { folder } else { Verdict::Unknown }
}

/// The model spec a Knossos corpus history is checked against.
pub fn knossos_spec(model: ModelKind) -> ModelSpec {
    let spec = ModelSpec::new(model);
    // Knossos' multi-register histories start every register at 0.
    if model == ModelKind::MultiRegister {
        spec.with_initial(Value::Int(0))
    } else {
        spec
    }
}
