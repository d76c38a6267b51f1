//! The invariants ARCHITECTURE.md states, checked: which crate may depend on
//! which, what the contract crates may depend on at all, that no two modules
//! of a crate import each other, and where unsafe code is allowed. Each
//! failure names the rule, the offender and the way to keep the rule.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

/// Each workspace crate's normal and dev dependencies on other workspace
/// crates (and its normal dependencies of any kind), from `cargo metadata`.
struct Crate {
    normal: BTreeSet<String>,
    dev: BTreeSet<String>,
    external: BTreeSet<String>,
    src: PathBuf,
}

fn workspace() -> BTreeMap<String, Crate> {
    let output = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let names: BTreeSet<String> = packages.iter().filter_map(|p| p["name"].as_str().map(str::to_owned)).collect();
    packages
        .iter()
        .map(|p| {
            let (mut normal, mut dev, mut external) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
            for dep in p["dependencies"].as_array().expect("dependencies") {
                let name = dep["name"].as_str().expect("name").to_owned();
                let is_dev = dep["kind"].as_str() == Some("dev");
                match (names.contains(&name), is_dev) {
                    (true, true) => dev.insert(name),
                    (true, false) => normal.insert(name),
                    (false, false) => external.insert(name),
                    (false, true) => false,
                };
            }
            let manifest = PathBuf::from(p["manifest_path"].as_str().expect("manifest_path"));
            let src = manifest.parent().expect("crate dir").join("src");
            (p["name"].as_str().expect("name").to_owned(), Crate { normal, dev, external, src })
        })
        .collect()
}

/// The layers, bottom up: a crate's normal dependencies come from lower
/// layers only.
const LAYERS: [&[&str]; 4] = [
    &["events", "pipeline-settings", "lambda-init", "msk-iam"],
    &["connector-plugin"],
    &["producer", "kinesis-forwarder", "msk-consumer", "topic-creator"],
    &["local", "infra"],
];

fn layer(name: &str) -> usize {
    LAYERS.iter().position(|l| l.contains(&name)).unwrap_or_else(|| {
        panic!("crate {name} is in no layer: add it to ARCHITECTURE.md's code map and to LAYERS here")
    })
}

#[test]
fn every_crate_depends_only_on_lower_layers() {
    for (name, krate) in workspace() {
        for dep in &krate.normal {
            assert!(
                layer(dep) < layer(&name),
                "{name} (layer {}) depends on {dep} (layer {}): a crate may only use crates below it (ARCHITECTURE.md, \"Invariants\")",
                layer(&name),
                layer(dep)
            );
        }
    }
}

/// The functions use the local stack to be tested, never to run: `local`
/// is a dev-dependency of each, and nothing depends on a function's crate,
/// so `local` runs the functions as processes (cargo lambda watch) and
/// holds none of their logic.
#[test]
fn the_local_stack_is_only_a_test_harness_of_the_functions_and_never_links_them() {
    let crates = workspace();
    let functions = LAYERS[2];
    for function in functions {
        let krate = &crates[*function];
        assert!(!krate.normal.contains("local"), "{function} depends on local outside its tests");
        assert!(krate.dev.contains("local"), "{function}'s tests run against the local stack's real parts");
        assert!(!krate.normal.contains("infra"), "{function} depends on infra");
    }
    for (name, krate) in &crates {
        for function in functions {
            assert!(
                !krate.normal.contains(*function),
                "{name} links the {function} function: run it as a function instead (cargo lambda watch)"
            );
        }
    }
}

/// The contract crates do no I/O: their dependencies are data crates only,
/// and their sources (binaries aside) touch no file, socket or process.
#[test]
fn the_contract_crates_do_no_io() {
    let allowed = ["serde", "serde_json", "thiserror", "uuid", "rand", "base64", "memchr", "humantime", "wide"];
    let crates = workspace();
    for name in ["events", "pipeline-settings"] {
        let krate = &crates[name];
        for dep in &krate.external {
            assert!(
                allowed.contains(&dep.as_str()),
                "{name} depends on {dep}: the contract does no I/O and pulls no runtime"
            );
        }
        assert!(krate.normal.is_empty(), "{name} depends on {:?}: a contract stands alone", krate.normal);
        for (file, text) in sources(&krate.src) {
            if file.components().any(|c| c.as_os_str() == "bin") {
                continue;
            }
            for io in ["std::fs", "std::net", "std::process", "tokio", "std::env::var"] {
                assert!(!text.contains(io), "{} uses {io}: the contract does no I/O", file.display());
            }
        }
    }
    assert!(crates["pipeline-settings"].external.is_empty(), "pipeline-settings is plain data, with no dependencies");
}

/// No two modules of a crate import each other (`crate::a` in `b` and
/// `crate::b` in `a`), outside doc comments and tests.
#[test]
fn no_two_modules_of_a_crate_import_each_other() {
    for (name, krate) in workspace() {
        let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (file, text) in sources(&krate.src) {
            let Some(module) = top_module(&krate.src, &file) else { continue };
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (_, rest) in line.match_indices("crate::").map(|(i, _)| line.split_at(i + "crate::".len())) {
                    let used: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !used.is_empty() && used != module {
                        uses.entry(module.clone()).or_default().insert(used);
                    }
                }
            }
        }
        for (a, used) in &uses {
            for b in used {
                assert!(
                    !(a < b && uses.get(b).is_some_and(|u| u.contains(a))),
                    "{name}: modules {a} and {b} import each other; move what both need below them"
                );
            }
        }
    }
}

/// Unsafe code is denied workspace-wide (`[workspace.lints]`); these are
/// the only places that allow it, each for the FFI it exists for.
#[test]
fn unsafe_code_is_allowed_only_where_ffi_needs_it() {
    let expected: BTreeSet<&str> = [
        "local/src/process.rs",          // kill(2), and prctl(2) between fork and exec
        "msk-consumer/src/allocator.rs", // mallopt(3), getrusage(2)
        "topic-creator/src/native.rs",   // librdkafka's OAUTHBEARER token and event queue
    ]
    .into();
    let mut found = BTreeSet::new();
    for krate in workspace().values() {
        for (file, text) in sources(&krate.src) {
            if text.contains("allow(unsafe_code)") {
                found.insert(file.strip_prefix(root()).unwrap_or(&file).to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let found: BTreeSet<&str> = found.iter().map(String::as_str).collect();
    assert_eq!(found, expected, "unsafe code is allowed somewhere new: say why in ARCHITECTURE.md and list it here");
}

/// The `.rs` files under `dir`, with their text.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read source");
                files.push((path.canonicalize().unwrap_or(path), text));
            }
        }
    }
    files
}

/// The crate-level module a file belongs to (`store` for
/// `src/store/item.rs`), or `None` for the crate root and binaries.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let src = src.canonicalize().unwrap_or_else(|_| src.to_path_buf());
    let relative = file.strip_prefix(&src).ok()?;
    let first = relative.components().next()?.as_os_str().to_string_lossy().into_owned();
    match first.as_str() {
        "lib.rs" | "main.rs" | "bin" => None,
        other => Some(other.trim_end_matches(".rs").to_owned()),
    }
}
