//! A test's or a bench's scratch directory: a temporary directory
//! (`tempfile`) that goes when its owner does, unless the owner goes because
//! a test failed: then it stays, and its path is printed, so what the stack
//! left there (the functions' log, Kafka's and Kafka Connect's logs, dead
//! letters, on-failure objects) can be read.
//!
//! A broker shared by a whole test binary lives in a `static`, which Rust
//! never drops: its directory is [`shared`], one per process under the
//! target directory, removed by the next run once that process is gone.

use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct Scratch(Option<tempfile::TempDir>);

impl Scratch {
    /// A new directory named `<name>-<random>` under `parent` (made if
    /// missing): pass `env!("CARGO_TARGET_TMPDIR")` from a test or a bench.
    pub fn new(parent: impl AsRef<Path>, name: &str) -> std::io::Result<Self> {
        std::fs::create_dir_all(parent.as_ref())?;
        let dir = tempfile::Builder::new().prefix(&format!("{name}-")).tempdir_in(parent)?;
        Ok(Self(Some(dir)))
    }

    pub fn path(&self) -> &Path {
        self.0.as_ref().map_or(Path::new(""), tempfile::TempDir::path)
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.path()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(dir) = self.0.take() {
                eprintln!("kept {} for the failed test to be read", dir.keep().display());
            }
        }
    }
}

/// The directory of a resource shared by a whole test binary (a broker in
/// a `static`, never dropped): `<parent>/<name>-<pid>`, fresh. One per
/// process, since a test runner may run a binary's tests as processes at
/// once (nextest); those of processes that are gone are removed here, so
/// each run clears what the last one left.
pub fn shared(parent: impl AsRef<Path>, name: &str) -> std::io::Result<PathBuf> {
    let parent = parent.as_ref();
    std::fs::create_dir_all(parent)?;
    let prefix = format!("{name}-");
    for entry in std::fs::read_dir(parent)?.flatten() {
        let file_name = entry.file_name();
        let pid = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| pid == std::process::id() || !crate::state::alive(pid)) {
            std::fs::remove_dir_all(entry.path())?;
        }
    }
    let dir = parent.join(format!("{prefix}{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passing_owner_removes_it_and_a_failing_one_keeps_it() {
        let parent = tempfile::tempdir().expect("parent");
        let passing = Scratch::new(parent.path(), "passing").expect("scratch");
        let path = passing.path().to_path_buf();
        std::fs::write(path.join("log"), "x").expect("write");
        drop(passing);
        assert!(!path.exists(), "removed when the test passes");
        let kept = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let failing = Scratch::new(parent.path(), "failing").expect("scratch");
                    let path = failing.path().to_path_buf();
                    let _owner = failing;
                    std::panic::panic_any(path)
                })
                .join()
        });
        let path = *kept.expect_err("the thread panicked").downcast::<PathBuf>().expect("the path");
        assert!(path.exists(), "kept when the test fails");
        let again = shared(parent.path(), "broker").expect("shared");
        std::fs::write(again.join("segment"), "x").expect("write");
        assert_eq!(shared(parent.path(), "broker").expect("emptied"), again);
        assert!(!again.join("segment").exists(), "emptied when started again");
        // A process that is gone: its directory goes; a live one's stays.
        let gone = parent.path().join(format!("broker-{}", u32::MAX - 1));
        let live = parent.path().join("broker-1");
        std::fs::create_dir_all(&gone).expect("gone");
        std::fs::create_dir_all(&live).expect("live");
        shared(parent.path(), "broker").expect("shared");
        assert!(!gone.exists(), "the directory of a process that is gone is removed");
        assert!(live.exists(), "pid 1 is alive: its directory stays");
    }
}
