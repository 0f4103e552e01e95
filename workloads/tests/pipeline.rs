//! Generators + in-process clients + checkers, end to end without a runner:
//! the correct store must pass the workload's checkers and the stale one must
//! fail them (proof that the pipeline can fail).

use splitbrain_checkers::{Verdict, counter, set, stats, unique_ids};
use splitbrain_history::{History, Op, OpType, Process, Value};
use splitbrain_workloads::memory::{self, MemoryClient, MemoryFactory, Store};
use splitbrain_workloads::{GeneratorConfig, Outcome, Request, Workload, workload};

type Registers = MemoryFactory<memory::register::Registers>;
type Set = MemoryFactory<memory::set::Elements>;
type Counter = MemoryFactory<memory::counter::Count>;
type Ids = MemoryFactory<memory::unique_ids::Ids>;

fn w(name: &str) -> &'static dyn Workload {
    workload::find(name).unwrap()
}

/// Runs `ops_per_worker` generated requests per worker, then the final phase,
/// with workers interleaved at random (seeded) so operations overlap: each op
/// takes effect between its invocation and its completion.
fn run<S: Store>(
    factory: &MemoryFactory<S>,
    workload: &'static dyn Workload,
    seed: u64,
    ops_per_worker: usize,
) -> History {
    let concurrency = 4;
    let cfg = GeneratorConfig::new(workload, seed, concurrency, 2);
    let mut gens = cfg.workers().unwrap();
    let mut clients: Vec<MemoryClient<S>> =
        (0..concurrency as u64).map(|p| factory.client(p)).collect();
    let mut pending: Vec<Option<(Request, Outcome)>> = vec![None; concurrency];
    let mut done = vec![0usize; concurrency];
    let mut finals: Vec<Vec<Request>> = (0..concurrency)
        .map(|_| workload.final_requests())
        .collect();
    let mut ops = Vec::new();
    let mut rng = fastrand::Rng::with_seed(seed);
    let record = |w: usize, kind: OpType, req: &Request, value: Value, ops: &mut Vec<Op>| {
        let mut op = Op::new(Process::Client(w as u64), kind, &req.f, value);
        op.index = ops.len() as u64;
        op.key = req.key.clone();
        ops.push(op);
    };
    let main_total = ops_per_worker * concurrency;
    loop {
        let in_main = done.iter().sum::<usize>() < main_total;
        let idle = pending.iter().all(Option::is_none);
        if !in_main && idle && finals.iter().all(Vec::is_empty) {
            break;
        }
        let w = rng.usize(0..concurrency);
        match pending[w].take() {
            Some((req, outcome)) => {
                let kind = outcome.op_type();
                record(w, kind, &req, outcome.value().clone(), &mut ops);
            }
            None if done[w] < ops_per_worker => {
                let req = gens[w].next_request();
                record(w, OpType::Invoke, &req, req.value.clone(), &mut ops);
                let outcome = clients[w].invoke_now(&req);
                pending[w] = Some((req, outcome));
                done[w] += 1;
            }
            // The final phase starts once every worker finished the main phase.
            None if !in_main && idle && !finals[w].is_empty() => {
                let req = finals[w].remove(0);
                record(w, OpType::Invoke, &req, req.value.clone(), &mut ops);
                let outcome = clients[w].invoke_now(&req);
                pending[w] = Some((req, outcome));
            }
            None => {}
        }
    }
    History::new(ops).unwrap()
}

#[test]
fn correct_counter_passes_stale_counter_fails() {
    let h = run(&Counter::linearizable(), w("counter"), 1, 500);
    let r = counter::check(&h);
    assert_eq!(
        r.verdict,
        Verdict::Valid,
        "{:?}",
        &r.errors[..r.errors.len().min(3)]
    );
    assert!(r.read_count > 500, "{}", r.read_count);
    assert_eq!(stats::check(&h).verdict, Verdict::Valid);

    let h = run(&Counter::stale(0.3, 1), w("counter"), 1, 500);
    let r = counter::check(&h);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(!r.errors.is_empty());
}

#[test]
fn correct_set_passes_stale_set_loses_elements() {
    let h = run(&Set::linearizable(), w("set"), 2, 300);
    let r = set::check(&h);
    assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
    assert_eq!(
        (r.attempt_count, r.ok_count, r.final_read_count),
        (1200, 1200, 4)
    );

    let h = run(&Set::stale(0.5, 2), w("set"), 2, 300);
    let r = set::check(&h);
    assert_eq!(r.verdict, Verdict::Invalid);
    // The stale reads miss exactly the newest element.
    assert_eq!(r.lost.len(), 1, "{:?}", r.lost);
}

#[test]
fn register_histories_carry_independent_keys() {
    let h = run(&Registers::linearizable(), w("register"), 3, 200);
    assert!(h.ops().iter().all(|op| op.key.is_some()));
    let keys: std::collections::HashSet<_> = h.ops().iter().map(|op| op.key.clone()).collect();
    // 4 workers in groups of 2 nodes, 100 ops per key: 800 ops over 8 keys.
    assert_eq!(keys.len(), 8);
    let s = stats::check(&h);
    assert_eq!(s.verdict, Verdict::Valid, "{s:?}");
    assert!(
        s.by_f["cas"].fail_count > 0,
        "some cas must find another value"
    );
}

#[test]
fn correct_register_is_linearizable_stale_register_is_not() {
    use splitbrain_checkers::{Limits, ModelKind, ModelSpec, check_linearizable};
    let spec = ModelSpec::new(ModelKind::CasRegister);
    let h = run(&Registers::linearizable(), w("register"), 4, 200);
    let r = check_linearizable(&h, &spec, &Limits::default()).unwrap();
    assert_eq!(r.verdict, Verdict::Valid);

    let h = run(&Registers::stale(0.2, 4), w("register"), 4, 200);
    let r = check_linearizable(&h, &spec, &Limits::default()).unwrap();
    assert_eq!(r.verdict, Verdict::Invalid);
}

#[test]
fn correct_ids_are_unique_stale_ids_repeat() {
    let h = run(&Ids::linearizable(), w("unique-ids"), 5, 300);
    let r = unique_ids::check(&h);
    assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
    assert_eq!(r.acknowledged_count, 1200);
    assert_eq!(stats::check(&h).verdict, Verdict::Valid);

    let h = run(&Ids::stale(0.1, 5), w("unique-ids"), 5, 300);
    let r = unique_ids::check(&h);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(!r.duplicated.is_empty());
}
