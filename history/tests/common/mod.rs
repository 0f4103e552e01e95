//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// The Knossos corpus in `shared/` beside the checkout, or `None` (the reason
/// printed) outside CI. With `CI=true` a missing corpus fails the test.
pub fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/knossos");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the Knossos corpus is missing at {} (CI=true: shared/ must sit beside the checkout)",
        dir.display()
    );
    eprintln!("skipping: the Knossos corpus is not at {}", dir.display());
    None
}

/// Every file under `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
