//! The plugin package is a `.tar.gz` of jars: MSK Connect wants a ZIP (or
//! one JAR) in S3, Kafka Connect's `plugin.path` a directory. The ZIP is
//! made byte-for-byte reproducibly (sorted entries, fixed times), so an
//! unchanged plugin has an unchanged content hash and is never re-uploaded.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use crate::PluginError;

/// Every regular file of the archive, checked to stay inside its root, sorted.
fn files(path: &Path, tar_gz: &[u8]) -> Result<Vec<(String, Vec<u8>)>, PluginError> {
    let not_tar = |source| PluginError::NotTarGz { path: path.into(), source };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tar_gz));
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in archive.entries().map_err(not_tar)? {
        let mut entry = entry.map_err(not_tar)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let entry_path = entry.path().map_err(not_tar)?.into_owned();
        let name = entry_path.to_string_lossy().into_owned();
        if entry_path.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
            return Err(PluginError::UnsafeEntry { path: path.into(), entry: name });
        }
        let mut content = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        entry.read_to_end(&mut content).map_err(not_tar)?;
        files.push((name.trim_start_matches("./").to_owned(), content));
    }
    if !files.iter().any(|(name, _)| name.ends_with(".jar")) {
        return Err(PluginError::NoJars { path: path.into() });
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// The jars of a Kafka Connect package archive as a ZIP MSK Connect accepts.
pub fn repackage_as_zip(path: &Path, tar_gz: &[u8]) -> Result<Vec<u8>, PluginError> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for (name, content) in files(path, tar_gz)? {
        zip.start_file(name, options)?;
        zip.write_all(&content).map_err(zip::result::ZipError::Io)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// Unpacks the archive (its SHA-256 `sha256`) once into a directory of
/// `cache_dir` named for its digest, and returns that directory: a
/// `plugin.path` entry for Kafka Connect. Concurrent callers are safe: each
/// unpacks aside and the first rename wins.
pub fn unpack(path: &Path, tar_gz: &[u8], sha256: &str, cache_dir: &Path) -> Result<PathBuf, PluginError> {
    let target = cache_dir.join("plugin-path").join(sha256.get(..16).unwrap_or(sha256));
    if target.is_dir() {
        return Ok(target);
    }
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| PluginError::Io { path: p, source }
    };
    let aside = cache_dir.join("plugin-path").join(format!(".{}.{}", std::process::id(), crate::repository::unique()));
    for (name, content) in files(path, tar_gz)? {
        let file = aside.join(&name);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&file, content).map_err(io(&file))?;
    }
    match std::fs::rename(&aside, &target) {
        Ok(()) => Ok(target),
        Err(_) if target.is_dir() => {
            let _ = std::fs::remove_dir_all(&aside);
            Ok(target)
        }
        Err(source) => Err(PluginError::Io { path: target, source }),
    }
}
