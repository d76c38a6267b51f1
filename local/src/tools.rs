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

/// A loopback-only launcher under `tools/` and the npm package it needs.
pub fn node_script(package: &'static str, script: &str) -> Result<PathBuf, MissingTool> {
    let root = repo_root();
    let module = root.join("tools/node_modules").join(package);
    if !module.is_dir() {
        return Err(MissingTool { what: package, path: module, install: MAKE_TOOLS });
    }
    Ok(root.join("tools").join(script))
}

/// `PATH` with the repo's own tools first (`.tools/venv/bin`, where `make
/// tools` puts cargo-lambda and zig), so `cargo run -p local` and a plain
/// `cargo test` find them without the Makefile's `PATH`.
pub fn path_with_repo_tools() -> std::ffi::OsString {
    let mut dirs = vec![repo_root().join(".tools/venv/bin"), repo_root().join(".tools/bin")];
    dirs.extend(std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default());
    std::env::join_paths(dirs).unwrap_or_default()
}

/// `cargo`, run from the repo root with the repo's tools on its `PATH`.
/// Started from `cargo test`/`cargo run`, we inherit the variables cargo sets
/// for a crate (CARGO_PKG_NAME, CARGO_MANIFEST_DIR, ...); a build would see
/// them and miss the build `make test` made, so they are removed.
pub fn cargo() -> std::process::Command {
    let mut command = std::process::Command::new("cargo");
    command.env("PATH", path_with_repo_tools()).current_dir(repo_root());
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let keep = ["CARGO_HOME", "CARGO_TARGET_DIR"].contains(&key.as_ref())
            || key.starts_with("CARGO_BUILD_")
            || key.starts_with("CARGO_PROFILE_")
            || key.starts_with("CARGO_REGISTRIES_")
            || key.starts_with("CARGO_NET_");
        if (key.starts_with("CARGO_") || key == "CARGO" || key == "OUT_DIR") && !keep {
            command.env_remove(key.as_ref());
        }
    }
    command
}

/// `cargo lambda` must answer (from the repo's `.tools/venv/bin` or PATH).
pub fn cargo_lambda() -> Result<(), MissingTool> {
    let found = cargo()
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

/// The cache outside the clone where slow-to-make tools live (`KML_CACHE`,
/// else `$XDG_CACHE_HOME/kinesis-msk-lambda`, else `~/.cache/kinesis-msk-lambda`);
/// the install scripts under `tools/` use the same rule.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("KML_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("kinesis-msk-lambda")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/kinesis-msk-lambda")))
        .unwrap_or_default()
}

/// The Apache Kafka version of the local broker: the one `tools/kafka/pom.xml` resolves.
pub const KAFKA_VERSION: &str = "3.8.1";

/// Apache Kafka's jars, copied from Maven Central by `tools/install-jars.sh
/// kafka` (run by `make tools`).
pub fn kafka_libs() -> Result<PathBuf, MissingTool> {
    installed_jars("Apache Kafka", &format!("kafka-{KAFKA_VERSION}"))
}

/// Kafka Connect's jars (`connect-runtime`), copied from Maven Central by
/// `tools/install-jars.sh connect` (run by `make tools`).
pub fn connect_libs() -> Result<PathBuf, MissingTool> {
    installed_jars("Kafka Connect", &format!("connect-{}", pipeline_settings::connector::KAFKA_CONNECT_VERSION))
}

fn installed_jars(what: &'static str, dir: &str) -> Result<PathBuf, MissingTool> {
    let path = cache_dir().join(dir).join("libs");
    if path.join(".installed").is_file() {
        Ok(path)
    } else {
        Err(MissingTool {
            what,
            path,
            install: "run `make tools` (needs Java 17 and Maven: it resolves Apache Kafka and Kafka Connect from Maven Central), or `bash tools/install-jars.sh kafka` / `connect`",
        })
    }
}

/// `$JAVA_HOME/bin/<tool>` when `JAVA_HOME` is set, else `<tool>` from PATH.
fn jdk_tool(tool: &str) -> PathBuf {
    std::env::var_os("JAVA_HOME").map_or_else(|| PathBuf::from(tool), |home| PathBuf::from(home).join("bin").join(tool))
}

pub fn java() -> PathBuf {
    jdk_tool("java")
}

/// `java` with the heap the local JVMs get, log4j configured from
/// `log4j_properties`, the jars of `libs` on the class path, and `main_class`.
pub fn java_main(libs: &Path, log4j_properties: &Path, main_class: &str) -> std::process::Command {
    let mut command = std::process::Command::new(java());
    command
        .arg("-Xms256m")
        .arg("-Xmx1g")
        .arg(format!("-Dlog4j.configuration=file:{}", log4j_properties.display()))
        .arg("-cp")
        .arg(format!("{}/*", libs.display()))
        .arg(main_class);
    command
}

pub fn keytool() -> PathBuf {
    jdk_tool("keytool")
}

#[cfg(test)]
mod tests {
    /// The broker the code starts is the one the pom resolves.
    #[test]
    fn kafka_version_matches_the_pom() {
        let pom = std::fs::read_to_string(super::repo_root().join("tools/kafka/pom.xml")).expect("pom");
        assert!(pom.contains(&format!("<kafka.version>{}</kafka.version>", super::KAFKA_VERSION)));
    }

    /// The Connect worker the code starts is the one the pom resolves, on
    /// the line the template deploys (3.7.2 is a 3.7.x).
    #[test]
    fn connect_version_matches_the_pom_and_the_template() {
        let version = pipeline_settings::connector::KAFKA_CONNECT_VERSION;
        let pom = std::fs::read_to_string(super::repo_root().join("tools/connect/pom.xml")).expect("pom");
        assert!(pom.contains(&format!("<connect.version>{version}</connect.version>")));
        let line = pipeline_settings::connector::MSK_CONNECT_VERSION.trim_end_matches('x');
        assert!(version.starts_with(line), "{version} is not on MSK Connect's {line}x");
    }
}
