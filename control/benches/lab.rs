//! `cargo bench -p splitbrain-control --bench lab`: how long `lab up` takes for 5 nodes, and
//! `lab down` after it (goal: 5 nodes up in under 5 s). Needs root; skips otherwise.

use std::time::Instant;

use splitbrain_control::lab::{self, LabConfig};

fn main() {
    if let Err(e) = lab::check_prerequisites() {
        eprintln!("skipping the lab benchmark: {e}");
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut cfg = LabConfig::new(5);
    cfg.name = "bench".into();
    cfg.subnet = "10.77.90.0/24".into();
    cfg.dir = "/var/cache/splitbrain/bench".into();
    rt.block_on(async {
        lab::down(&cfg.dir, &cfg.name).await.unwrap();
        let mut ups = Vec::new();
        let mut downs = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            lab::up(&cfg).await.unwrap();
            ups.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            lab::down(&cfg.dir, &cfg.name).await.unwrap();
            downs.push(t.elapsed().as_secs_f64());
        }
        let stats = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            format!("median {:.3}s, max {:.3}s", v[v.len() / 2], v[v.len() - 1])
        };
        println!("lab up   --nodes 5: {} (goal < 5s)", stats(&ups));
        println!("lab down (5 nodes): {}", stats(&downs));
    });
}
