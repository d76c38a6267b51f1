//! The deploy-readiness rules (`infra/guard/*.guard`) run by AWS
//! CloudFormation Guard on a rendered template: each failing rule with the
//! reason its rule file gives. `infra guard` prints them; the tests use the
//! same reading.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("cfn-guard not found at {0}: run `make tools` (cargo install cfn-guard)")]
    Missing(PathBuf),
    #[error("running cfn-guard: {0}")]
    Run(std::io::Error),
    #[error("cfn-guard's report is not what it writes for --output-format json ({reason}): {output}")]
    Report { reason: String, output: String },
}

/// A rule the template breaks, and why (the rule's custom messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub rule: String,
    pub messages: Vec<String>,
}

/// The repo's rules directory and its cfn-guard (from `make tools`).
pub fn repo_paths() -> (PathBuf, PathBuf) {
    let infra = Path::new(env!("CARGO_MANIFEST_DIR"));
    (infra.join("../.tools/bin/cfn-guard"), infra.join("guard"))
}

/// Runs the rules in `rules` (a file or directory) on `template`.
pub fn validate(cfn_guard: &Path, rules: &Path, template: &Path) -> Result<Vec<Failure>, GuardError> {
    if !cfn_guard.is_file() {
        return Err(GuardError::Missing(cfn_guard.to_path_buf()));
    }
    let output = Command::new(cfn_guard)
        .arg("validate")
        .arg("--rules")
        .arg(rules)
        .arg("--data")
        .arg(template)
        .args(["--output-format", "json", "--show-summary", "none"])
        .output()
        .map_err(GuardError::Run)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let bad = |reason: String| GuardError::Report {
        reason,
        output: format!("{stdout}{}", String::from_utf8_lossy(&output.stderr)),
    };
    let report: Value = serde_json::from_str(&stdout).map_err(|e| bad(e.to_string()))?;
    let failures: Vec<Failure> = report["not_compliant"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|failure| Failure {
            rule: failure["Rule"]["name"].as_str().unwrap_or_default().to_owned(),
            messages: custom_messages(&failure["Rule"]),
        })
        .collect();
    // cfn-guard exits 0 when every rule passes and 19 when one fails.
    if output.status.success() != failures.is_empty() {
        return Err(bad(format!("exit status {} with {} failing rules", output.status, failures.len())));
    }
    Ok(failures)
}

/// Every `custom_message` below `value`, tidied (cfn-guard joins the lines
/// of a `<< >>` block with ';').
fn custom_messages(value: &Value) -> Vec<String> {
    match value {
        Value::Object(map) => map
            .iter()
            .flat_map(|(key, child)| match (key.as_str(), child) {
                ("custom_message", Value::String(message)) => {
                    vec![message.split(';').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")]
                }
                _ => custom_messages(child),
            })
            .collect(),
        Value::Array(items) => items.iter().flat_map(custom_messages).collect(),
        _ => Vec::new(),
    }
}
