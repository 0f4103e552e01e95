//! The run's outputs for people and CI, written after every check (by `test`
//! and `analyze`): what `results.json` records about the run besides verdicts,
//! `report.html` and `junit.xml` next to it, and the store's `index.html`.
//! Drawing is the `splitbrain-reports` crate's job; this module knows the store.

use std::path::{Path, PathBuf};

use anyhow::Result;
use splitbrain_history::History;
use splitbrain_reports::{FaultColours, Results, RunConfig};

use crate::config::{Concurrency, TestDef};
use crate::store::{RunDir, Store};

/// Fills in what the run was (its effective test definition), when it started
/// (its folder's name) and what its history shows (op counts, duration, faults).
pub fn describe_run(results: &mut Results, run: &RunDir, def: &TestDef, history: &History) {
    results.describe_history(history);
    results.started = started(&run.timestamp);
    results.config = run_config(def);
}

/// The configuration of a run, from its effective test definition.
pub fn run_config(def: &TestDef) -> RunConfig {
    // `etcd (serializable reads)`: what the client's own options change, in its own words.
    let client = def.client.describe();
    let (nemesis, interval) = match &def.nemesis {
        Some(n) => (
            n.fault_list()
                .iter()
                .map(|f| f.name().to_string())
                .collect(),
            (!n.fault_list().is_empty()).then(|| n.interval().as_secs_f64()),
        ),
        None => (Vec::new(), None),
    };
    RunConfig {
        // `dbs/etcd.yaml` → `etcd`: the definition may not be readable where the run is analyzed.
        db: def
            .db
            .as_ref()
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned()),
        client: Some(client),
        workload: Some(def.workload.kind.clone()),
        nemesis,
        nemesis_interval_s: interval,
        seed: def.seed,
        // The harness's default: one worker per node.
        concurrency: Some(
            def.concurrency
                .unwrap_or(Concurrency::PerNode(1))
                .resolve(def.nodes.len().max(1)) as u64,
        ),
        rate: def.rate,
        time_limit_s: def.time_limit.map(|d| d.as_secs_f64()),
        nodes: def.nodes.clone(),
    }
}

/// `20261125T101500.123Z` (or `...Z-2`) → `2026-11-25T10:15:00.123Z`.
fn started(timestamp: &str) -> Option<String> {
    let ts = timestamp.split('-').next()?;
    let t = jiff::fmt::strtime::parse("%Y%m%dT%H%M%S%.fZ", ts)
        .ok()?
        .to_datetime()
        .ok()?
        .in_tz("UTC")
        .ok()?
        .timestamp();
    Some(t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// Writes `report.html` and `junit.xml` into the run directory and regenerates
/// the store's index. A report that cannot be written is logged, never fatal:
/// `results.json` is already on disk and the verdict stands.
pub fn write_reports(run: &RunDir, results: &Results, history: &History) -> Option<PathBuf> {
    tracing::info!("writing the report");
    let store = store_of(run);
    let index_href = store
        .as_ref()
        .map(|_| format!("../../{}", splitbrain_reports::INDEX_FILE));
    let written = match splitbrain_reports::write_run(
        &run.path,
        results,
        history,
        index_href.as_deref(),
        &fault_colours(),
    ) {
        Ok(w) => Some(w.report),
        Err(e) => {
            tracing::error!("{e}");
            None
        }
    };
    if let Some(store) = store
        && let Err(e) = write_index(&store)
    {
        tracing::error!("cannot update the store index: {e:#}");
    }
    written
}

/// The colour of each fault in the report: each fault module's own (the nemeses' table).
fn fault_colours() -> FaultColours {
    // The table's colours are constants, checked by the test below.
    FaultColours::from_pairs(splitbrain_nemeses::fault_colours()).unwrap_or_default()
}

/// The store a run directory belongs to: `<store>/<test>/<time>` → `<store>`.
fn store_of(run: &RunDir) -> Option<PathBuf> {
    let store = run.path.parent()?.parent()?;
    // Only a store that looks like one: runs were created with `latest` links.
    (store.join("latest").exists() || store.join(splitbrain_reports::INDEX_FILE).exists())
        .then(|| store.to_path_buf())
}

/// Regenerates `<store>/index.html` from every run in the store.
pub fn write_index(store: &Path) -> Result<PathBuf> {
    let runs = Store::new(store).runs()?;
    Ok(splitbrain_reports::index::write_index(store, &runs)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_names_give_the_start_time() {
        assert_eq!(
            started("20261125T053253.462Z").as_deref(),
            Some("2026-11-25T05:32:53.462Z")
        );
        assert_eq!(
            started("20261125T053253.462Z-2").as_deref(),
            Some("2026-11-25T05:32:53.462Z")
        );
        assert_eq!(started("not-a-time"), None);
    }

    #[test]
    fn every_fault_has_a_valid_colour() {
        let pairs = splitbrain_nemeses::fault_colours();
        assert!(!pairs.is_empty());
        splitbrain_reports::FaultColours::from_pairs(pairs).unwrap();
    }
}
