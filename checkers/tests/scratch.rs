use splitbrain_checkers::*;
use splitbrain_history::codec::{read_path, ReadOptions};
#[test]
fn scratch() {
    let path = std::env::var("H").unwrap();
    let model: ModelKind = std::env::var("M").unwrap().parse().unwrap();
    let engine: EngineChoice = std::env::var("E").unwrap_or("auto".into()).parse().unwrap();
    let h = read_path(path.as_ref(), &ReadOptions::default()).unwrap();
    let t = std::time::Instant::now();
    let r = check_linearizable(&h, &ModelSpec::new(model), &Limits { engine, time: Some(std::time::Duration::from_secs(std::env::var("T").map(|t| t.parse().unwrap()).unwrap_or(20))), ..Limits::default() }).unwrap();
    println!("{:?} {:?} {:?}", r.verdict, t.elapsed(), r.unknown_reason);
    println!("{}", serde_json::to_string_pretty(&r.stats).unwrap());
    if let Some(c) = r.counterexample { println!("{}", serde_json::to_string_pretty(&c).unwrap()); }
}
