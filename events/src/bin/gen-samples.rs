//! Writes `events/samples/*.json` from the contract's code, or checks them
//! (`--check`), or writes the near-6 MB MSK batch (`--large PATH`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use events::msk::MAX_INVOKE_PAYLOAD_BYTES;
use events::samples;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples");
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => write_all(&dir),
        ["--check"] => check_all(&dir),
        ["--large", path] => write_large(Path::new(path)),
        _ => Err("usage: gen-samples [--check | --large PATH]".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gen-samples: {message}");
            ExitCode::FAILURE
        }
    }
}

fn write_all(dir: &Path) -> Result<(), String> {
    for sample in samples::all() {
        let path = dir.join(sample.file_name);
        std::fs::write(&path, &sample.json).map_err(|e| format!("writing {}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn check_all(dir: &Path) -> Result<(), String> {
    let stale: Vec<_> = samples::all()
        .into_iter()
        .filter(|s| std::fs::read_to_string(dir.join(s.file_name)).ok().as_deref() != Some(s.json.as_str()))
        .map(|s| s.file_name)
        .collect();
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!("samples differ from the contract: {stale:?}; run `make samples` and review the diff"))
    }
}

fn write_large(path: &Path) -> Result<(), String> {
    let event = samples::msk_large(MAX_INVOKE_PAYLOAD_BYTES);
    let json = serde_json::to_vec(&event).map_err(|e| e.to_string())?;
    std::fs::write(path, &json).map_err(|e| format!("writing {}: {e}", path.display()))?;
    println!("wrote {} ({} records, {} bytes)", path.display(), event.record_count(), json.len());
    Ok(())
}
