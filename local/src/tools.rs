//! Finds the tools the project installs into the repo (`make tools`), so a
//! missing one is an error that says how to install it.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{what} not found at {}: {install}", .path.display())]
pub struct MissingTool {
    pub what: &'static str,
    pub path: PathBuf,
    pub install: &'static str,
}

const MAKE_TOOLS: &str = "run `make tools` (installs it from the npm/PyPI registries into the repo)";

/// The repository root: `REPO_ROOT` if set, else the directory above this crate.
pub fn repo_root() -> PathBuf {
    std::env::var_os("REPO_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default())
}

/// The loopback-only kinesalite launcher and the node_modules it needs.
pub fn kinesalite_script() -> Result<PathBuf, MissingTool> {
    let root = repo_root();
    let module = root.join("tools/node_modules/kinesalite");
    if !module.is_dir() {
        return Err(MissingTool { what: "kinesalite", path: module, install: MAKE_TOOLS });
    }
    Ok(root.join("tools/kinesalite-loopback.js"))
}

/// `cargo lambda` must be on PATH (the Makefile puts `.tools/venv/bin` there).
pub fn cargo_lambda() -> Result<(), MissingTool> {
    let found = std::process::Command::new("cargo")
        .args(["lambda", "--help"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        Ok(())
    } else {
        Err(MissingTool {
            what: "cargo-lambda",
            path: repo_root().join(".tools/venv/bin/cargo-lambda"),
            install: MAKE_TOOLS,
        })
    }
}

/// moto's server from the repo-local virtualenv.
pub fn moto_server() -> Result<PathBuf, MissingTool> {
    let path = repo_root().join(".tools/venv/bin/moto_server");
    if path.is_file() {
        Ok(path)
    } else {
        Err(MissingTool { what: "moto_server", path, install: MAKE_TOOLS })
    }
}

/// The tansu broker `make tansu` builds once into the cache outside the clone
/// (`TANSU_BIN` overrides).
pub fn tansu() -> Result<PathBuf, MissingTool> {
    let path = std::env::var_os("TANSU_BIN").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("KML_CACHE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("kinesis-msk-lambda")))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/kinesis-msk-lambda")))
            .unwrap_or_default()
            .join(format!("tansu-{TANSU_VERSION}/bin/tansu"))
    });
    if path.is_file() {
        Ok(path)
    } else {
        Err(MissingTool {
            what: "tansu",
            path,
            install: "run `make tansu` (a one-time build from the crate registry, ~45 min on 2 cores)",
        })
    }
}

/// Must match `tools/install-tansu.sh`.
pub const TANSU_VERSION: &str = "0.6.0";
