//! `cargo lambda watch`: the local Lambda runtime and Invoke API that runs
//! the functions from source, exactly as `cargo lambda invoke` and the AWS SDK
//! reach them. Bound to loopback; environment passed per function run.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{free_port, Service};
use crate::tools;

pub struct LambdaWatch {
    _service: Service,
    port: u16,
    log: PathBuf,
}

impl LambdaWatch {
    /// Starts the runtime with `env` given to every function it runs. Functions
    /// compile on their first invocation (`cargo build`, sharing the target dir).
    pub fn start(env: &[(&str, String)], log: &Path) -> anyhow::Result<Self> {
        tools::cargo_lambda()?;
        let port = free_port()?;
        let env_vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut command = tools::cargo();
        command.args(["lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", &port.to_string()]);
        // `make demo` runs the functions optimised (profile `demo`); tests
        // share the workspace's debug build.
        if let Some(profile) = std::env::var("LOCAL_FUNCTIONS_PROFILE").ok().filter(|p| !p.is_empty()) {
            command.args(["--profile", &profile]);
        }
        for var in env_vars {
            command.args(["--env-var", &var]);
        }
        // Started from `cargo test`/`cargo run`, we inherit the variables cargo
        // sets for a crate (CARGO_PKG_NAME, CARGO_MANIFEST_DIR, ...); the
        // functions' build would see them and miss the build `make test` made.
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
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let service = Service::start_listening("cargo lambda watch", command, log, addr, Duration::from_secs(60))?;
        Ok(Self { _service: service, port, log: log.to_path_buf() })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The Lambda Invoke API endpoint, for `aws-sdk-lambda`'s `endpoint_url`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Runs `cargo lambda invoke FUNCTION --data-file FILE` as a user would and
    /// returns its stdout (the function's response) or its stderr as the error.
    pub fn invoke_cli(&self, function: &str, data_file: &Path) -> anyhow::Result<String> {
        let output = tools::cargo()
            .args(["lambda", "invoke", function, "-A", "127.0.0.1", "-P", &self.port.to_string(), "--data-file"])
            .arg(data_file)
            .output()?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            anyhow::bail!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
        }
    }
}
