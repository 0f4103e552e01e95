//! Clock faults on a real lab: a C program started through the clock wrapper (the faketime
//! probe: `sh`, `date`, `sleep` under libfaketime) sees its clock move while it keeps
//! running, by exactly what the nemesis recorded; reset and heal bring it back to zero;
//! and for etcd (a Go program) the nemesis says plainly that clock faults have no effect.
//! Needs root (runs under CI=true; skips elsewhere with the reason).

mod common;

use std::time::{Duration, Instant};

use common::*;
use splitbrain_control::Cluster;
use splitbrain_control::db::DbDef;
use splitbrain_history::fault_op::CLOCK_OFFSETS;
use splitbrain_history::{Op, Value};
use splitbrain_nemeses::{
    Action, Clock, ClockChange, ClockSupport, FaultKind, HealOptions, Nemesis, NemesisConfig,
    Target, heal_all, scripts,
};

/// The probe's log: (pid, faked time − uptime) per line. The second column moves exactly
/// with the clock offset, since uptime is the kernel's real clock.
fn skew_series(log: &str) -> Vec<(u32, f64)> {
    log.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            Some((
                w.first()?.parse().ok()?,
                w.get(1)?.parse::<f64>().ok()? - w.get(2)?.parse::<f64>().ok()?,
            ))
        })
        .collect()
}

fn offsets(op: &Op) -> Vec<(String, i64)> {
    match &op.value {
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_string(), v.as_int().unwrap()))
            .collect(),
        other => panic!("clock-offsets value is not a map: {other}"),
    }
}

fn last_offsets(ops: &[Op]) -> Vec<(String, i64)> {
    offsets(
        ops.iter()
            .rev()
            .find(|o| &*o.f == CLOCK_OFFSETS)
            .expect("clock-offsets recorded"),
    )
}

fn near(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

/// Polls `node`'s probe log until `done` holds for its series, which it returns. Waits for
/// samples instead of sleeping a fixed time: the probe samples every 0.2 s, but a loaded
/// 2-core CI machine is slow, so the bound is a generous 60 s.
async fn probe_until(
    cluster: &Cluster,
    node: &str,
    what: &str,
    done: impl Fn(&[(u32, f64)]) -> bool,
) -> Vec<(u32, f64)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let series = skew_series(&sh(cluster, node, "cat /var/log/faketime-probe.log").await);
        if done(&series) {
            return series;
        }
        assert!(
            Instant::now() < deadline,
            "{node}: {what} not seen within 60 s: {series:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn a_c_program_sees_the_offset_change_while_it_runs() {
    if !lab_available("a_c_program_sees_the_offset_change_while_it_runs") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(with_lab(config("nclk", 81, 2), |inv| async move {
        let cluster = connect(&inv).await;
        let db = probe(&cluster);
        db.setup(&cluster).await.unwrap_or_else(|e| panic!("{e}"));
        let (record, ops) = recorder();
        let config = NemesisConfig::with_faults(&[FaultKind::Clock]);
        let nemesis = Nemesis::setup(&cluster, Some(&db), &config, 1, record)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(nemesis.clock_support(), Some(ClockSupport::Faketime { .. })),
            "{:?}",
            nemesis.clock_support()
        );
        assert_eq!(nemesis.faults(), &[FaultKind::Clock]);
        let n1 = cluster.session("n1").unwrap().clone();
        let pid = db.pid(&n1).await.unwrap().expect("probe runs");

        // Bump n1 by +7.5 s for a while, then reset.
        let bump = Action::from(Clock {
            target: Target::Nodes,
            nodes: vec!["n1".into()],
            change: ClockChange::Bump { offset_ms: 7500 },
            note: None,
        });
        let before = probe_until(&cluster, "n1", "samples before the bump", |s| s.len() >= 4).await;
        let base = before[0].1;
        nemesis.start(&bump).await.unwrap();
        {
            let ops = ops.lock().unwrap();
            let start = ops
                .iter()
                .find(|o| &*o.f == "start-clock")
                .expect("start-clock");
            assert_eq!(start.value.get("offset_ms"), Some(&Value::Int(7500)));
            let measured = last_offsets(&ops);
            let m1 = measured.iter().find(|(n, _)| n == "n1").unwrap().1;
            let m2 = measured.iter().find(|(n, _)| n == "n2").unwrap().1;
            assert!((m1 - 7500).abs() <= 20, "n1 measured {m1} ms");
            assert!(m2.abs() <= 20, "n2 measured {m2} ms");
        }
        let bumped = |s: &[(u32, f64)]| s.iter().filter(|(_, d)| near(d - base, 7.5, 0.05)).count();
        probe_until(&cluster, "n1", "5 samples at +7.5 s", |s| bumped(s) >= 5).await;
        nemesis.stop(&bump).await.unwrap();
        assert!(
            last_offsets(&ops.lock().unwrap())
                .iter()
                .all(|(_, ms)| ms.abs() <= 20)
        );
        // Samples after the reset: the last one back at 0.
        let n = probe_until(&cluster, "n1", "a sample", |_| true)
            .await
            .len();
        probe_until(&cluster, "n1", "2 samples after the reset", |s| {
            s.len() >= n + 2 && near(s.last().unwrap().1 - base, 0.0, 0.05)
        })
        .await;

        let log = sh(&cluster, "n1", "cat /var/log/faketime-probe.log").await;
        let series = skew_series(&log);
        assert!(series.len() > 10, "{log}");
        assert!(
            series.iter().all(|(p, _)| *p == pid),
            "the probe must keep running as pid {pid}: {log}"
        );
        let base = series[0].1;
        let shifted: Vec<f64> = series.iter().map(|(_, d)| d - base).collect();
        let during = shifted.iter().filter(|d| near(**d, 7.5, 0.05)).count();
        assert!(during >= 5, "the probe never saw +7.5 s: {shifted:?}");
        assert!(
            shifted
                .iter()
                .all(|d| near(*d, 0.0, 0.05) || near(*d, 7.5, 0.05)),
            "offsets other than 0 and 7.5 s: {shifted:?}"
        );
        assert!(
            near(*shifted.last().unwrap(), 0.0, 0.05),
            "not reset: {shifted:?}"
        );
        // The other node's probe never moved.
        let other = skew_series(&sh(&cluster, "n2", "cat /var/log/faketime-probe.log").await);
        assert!(
            other.iter().all(|(_, d)| near(*d, other[0].1, 0.05)),
            "{other:?}"
        );

        // Strobe n2 between -3 s and 0, each phase longer than the probe's 0.2 s between
        // samples (a period close to it would alias: every sample could land on 0).
        let strobe = Action::from(Clock {
            target: Target::Nodes,
            nodes: vec!["n2".into()],
            change: ClockChange::Strobe {
                delta_ms: -3000,
                period_ms: 350,
                duration_ms: 2100,
            },
            note: None,
        });
        nemesis.start(&strobe).await.unwrap();
        // The strobe runs 2.1 s and ends at 0 by itself: wait until it flipped, until its loop
        // is gone, and for a sample after that.
        let flips = |s: &[(u32, f64)]| {
            s.windows(2)
                .filter(|w| !near(w[0].1, w[1].1, 0.05))
                .count()
        };
        probe_until(&cluster, "n2", "4 flips of the strobe", |s| flips(s) >= 4).await;
        let loop_runs = format!(
            "p=$(cat {}/clock-loop.pid 2>/dev/null) && grep -q -a {} /proc/$p/cmdline 2>/dev/null && echo running || true",
            scripts::STATE_DIR,
            scripts::CLOCK_LOOP_NAME
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while sh(&cluster, "n2", &loop_runs).await.contains("running") {
            assert!(Instant::now() < deadline, "the strobe loop did not end within 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let n = probe_until(&cluster, "n2", "a sample", |_| true).await.len();
        probe_until(&cluster, "n2", "a sample after the strobe", |s| s.len() > n).await;
        nemesis.stop(&strobe).await.unwrap();
        let series = skew_series(&sh(&cluster, "n2", "cat /var/log/faketime-probe.log").await);
        let base = series[0].1;
        let flipped = series
            .iter()
            .filter(|(_, d)| near(d - base, -3.0, 0.05))
            .count();
        let steady = series
            .iter()
            .filter(|(_, d)| near(d - base, 0.0, 0.05))
            .count();
        assert!(flipped >= 2, "the strobe was never seen: {series:?}");
        assert_eq!(
            flipped + steady,
            series.len(),
            "offsets other than -3 s and 0: {series:?}"
        );
        // It ended at zero, and it flipped back and forth rather than jumping once.
        assert!(
            near(series.last().unwrap().1 - base, 0.0, 0.05),
            "{series:?}"
        );
        let changes = series
            .windows(2)
            .filter(|w| !near(w[0].1, w[1].1, 0.05))
            .count();
        assert!(changes >= 4, "{changes} changes: {series:?}");

        // Drift n1 50% fast for 2 s: about +1 s.
        let drift = Action::from(Clock {
            target: Target::Nodes,
            nodes: vec!["n1".into()],
            change: ClockChange::Drift { ppm: 500_000 },
            note: None,
        });
        // The expected offset follows the real time elapsed (half of it, at rate 1.5), which a
        // loaded machine stretches: bounds from the elapsed time measured around each step, the
        // lower one allowing 300 ms for the loop's 0.1 s steps to lag.
        let asked = Instant::now();
        nemesis.start(&drift).await.unwrap();
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let measuring = Instant::now();
        let measured = nemesis.clock_offsets().await.unwrap();
        let half_ms = |from: Instant, to: Instant| (to - from).as_millis() as i64 / 2;
        let (low, high) = (
            half_ms(started, measuring) - 300,
            half_ms(asked, Instant::now()) + 20,
        );
        assert!(
            (low..=high).contains(&measured["n1"]),
            "at rate 1.5 the offset should be in {low}..={high} ms: {measured:?}"
        );
        nemesis.stop(&drift).await.unwrap();
        let after = last_offsets(&ops.lock().unwrap());
        assert!(after.iter().all(|(_, ms)| ms.abs() <= 20), "{after:?}");

        // Heal: a bump left in place is reset, and the clock file says 0.
        nemesis
            .start(&Action::from(Clock {
                target: Target::All,
                nodes: vec!["n1".into(), "n2".into()],
                change: ClockChange::Bump { offset_ms: -4000 },
                note: None,
            }))
            .await
            .unwrap();
        let report = heal_all(&cluster, Some(&db), HealOptions::default()).await;
        assert!(report.is_ok(), "{report}");
        assert!(
            report
                .to_string()
                .contains("reset the clock offset to 0 (was -4.000)"),
            "{report}"
        );
        let measured = nemesis.clock_offsets().await.unwrap();
        assert!(measured.values().all(|ms| ms.abs() <= 20), "{measured:?}");
        for n in ["n1", "n2"] {
            assert_eq!(
                sh(&cluster, n, "cat /run/splitbrain/faketime").await.trim(),
                "+0"
            );
        }
        let again = heal_all(&cluster, Some(&db), HealOptions::default()).await;
        assert!(!again.healed_anything(), "{again}");
        assert_eq!(
            db.pid(&n1).await.unwrap(),
            Some(pid),
            "the probe was restarted"
        );

        // History: every clock op is an info op of the nemesis.
        for op in ops.lock().unwrap().iter() {
            assert_eq!(op.process, splitbrain_history::Process::Nemesis);
            assert_eq!(op.kind, splitbrain_history::OpType::Info);
        }
        db.teardown_all(&cluster).await.unwrap();
    }));
}

#[test]
fn clock_faults_on_etcd_say_they_have_no_effect() {
    if !lab_available("clock_faults_on_etcd_say_they_have_no_effect") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(with_lab(config("ngo", 84, 1), |inv| async move {
        let cluster = connect(&inv).await;
        let text = std::fs::read_to_string(repo().join("dbs/etcd.yaml")).unwrap();
        // As shipped (faketime off) and as someone might try it (faketime on): either way the
        // binary is Go, and the nemesis says so instead of pretending.
        for faketime in [false, true] {
            let t = text.replace(
                "clock:\n  faketime: false",
                &format!("clock:\n  faketime: {faketime}"),
            );
            let def = DbDef::parse(&t, "dbs/etcd.yaml".as_ref()).unwrap();
            assert_eq!(def.clock.faketime, faketime);
            let db = splitbrain_control::db::Db::new(def, &cluster).unwrap();
            let (record, ops) = recorder();
            let config = NemesisConfig::with_faults(&[FaultKind::Clock, FaultKind::Kill]);
            let mut nemesis = Nemesis::setup(&cluster, Some(&db), &config, 1, record)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let notes = nemesis.notes().join("\n");
            assert!(
                notes.contains("clock faults have no effect on etcd")
                    && notes.contains("is a Go program")
                    && notes.contains("libfaketime"),
                "{notes}"
            );
            assert_eq!(
                nemesis.faults(),
                &[FaultKind::Kill],
                "clock must be left out"
            );
            assert!(nemesis.plan(FaultKind::Clock).await.is_err());
            let fake = Action::from(Clock {
                target: Target::All,
                nodes: vec!["n1".into()],
                change: ClockChange::Bump { offset_ms: 1000 },
                note: None,
            });
            let err = nemesis.start(&fake).await.unwrap_err().to_string();
            assert!(err.contains("Go program"), "{err}");
            // Nothing in the history pretends that a clock fault happened.
            let ops = ops.lock().unwrap();
            assert!(
                !ops.iter().any(|o| o.f.contains("clock")),
                "{:?}",
                ops.iter().map(|o| o.f.clone()).collect::<Vec<_>>()
            );
        }
    }));
}
