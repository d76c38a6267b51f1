//! The Camel aws-kinesis-source connector plugin: Apache publishes it on Maven
//! Central as a `.tar.gz` of jars; MSK Connect wants a ZIP (or one JAR) in S3.
//! We fetch the pinned version on the user's machine, check its digest, and
//! repackage it byte-for-byte reproducibly (sorted entries, fixed times) so an
//! unchanged plugin has an unchanged content hash and is never re-uploaded.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};
use thiserror::Error;

pub const CAMEL_VERSION: &str = "3.18.2";
const ARTIFACT: &str = "camel-aws-kinesis-source-kafka-connector";

pub fn archive_file_name() -> String {
    format!("{ARTIFACT}-{CAMEL_VERSION}-package.tar.gz")
}

pub const MAVEN_CENTRAL: &str = "https://repo1.maven.org/maven2";

/// The archive's URL in a Maven repository (Maven Central, or a mirror such
/// as a company's Artifactory).
pub fn archive_url(repository: &str) -> String {
    format!(
        "{}/org/apache/camel/kafkaconnector/{ARTIFACT}/{CAMEL_VERSION}/{}",
        repository.trim_end_matches('/'),
        archive_file_name()
    )
}

#[derive(Debug, Error)]
pub enum PluginError {
    #[error("reading the plugin archive {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the plugin archive {path} has SHA-256 {actual}, expected {expected}: a different or corrupted file (pass --plugin-sha256 only if you chose another version on purpose)")]
    Digest { path: PathBuf, expected: String, actual: String },
    #[error("the plugin archive {path} is not a gzip'd tar: {source}")]
    NotTarGz { path: PathBuf, source: std::io::Error },
    #[error("the plugin archive {path} has an entry {entry:?} outside its root: refused")]
    UnsafeEntry { path: PathBuf, entry: String },
    #[error("the plugin archive {path} holds no .jar file: not a Kafka Connect plugin")]
    NoJars { path: PathBuf },
    #[error("writing the plugin zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("downloading {url}: {reason}")]
    Download { url: String, reason: String },
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Reads `path` and checks it against `expected` (hex SHA-256) when given.
pub fn read_verified(path: &Path, expected: Option<&str>) -> Result<Vec<u8>, PluginError> {
    let bytes = std::fs::read(path).map_err(|source| PluginError::Read { path: path.into(), source })?;
    if let Some(expected) = expected {
        let actual = sha256_hex(&bytes);
        if !actual.eq_ignore_ascii_case(expected.trim()) {
            return Err(PluginError::Digest { path: path.into(), expected: expected.trim().to_owned(), actual });
        }
    }
    Ok(bytes)
}

/// The jars of a Kafka Connect package archive as a ZIP MSK Connect accepts.
pub fn repackage_as_zip(path: &Path, tar_gz: &[u8]) -> Result<Vec<u8>, PluginError> {
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
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for (name, content) in files {
        zip.start_file(name, options)?;
        zip.write_all(&content).map_err(zip::result::ZipError::Io)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// Downloads the pinned archive from `repository` into `cache_dir` (once) and
/// returns its path. The repository's published SHA-1 guards the transfer;
/// the caller then checks the SHA-256 pin.
pub async fn download(repository: &str, cache_dir: &Path) -> Result<PathBuf, PluginError> {
    let target = cache_dir.join(archive_file_name());
    if target.is_file() {
        return Ok(target);
    }
    let url = archive_url(repository);
    let failed = |reason: String| PluginError::Download { url: url.clone(), reason };
    let client = reqwest::Client::new();
    let fetch = |u: String| {
        let client = client.clone();
        async move {
            let response = client.get(&u).send().await.map_err(|e| e.to_string())?;
            let response = response.error_for_status().map_err(|e| e.to_string())?;
            response.bytes().await.map_err(|e| e.to_string())
        }
    };
    let body = fetch(url.clone()).await.map_err(failed)?;
    let published = fetch(format!("{url}.sha1")).await.map_err(failed)?;
    let published = String::from_utf8_lossy(&published).split_whitespace().next().unwrap_or_default().to_owned();
    let actual = hex::encode(sha1_digest(&body));
    if !actual.eq_ignore_ascii_case(&published) {
        return Err(failed(format!("SHA-1 {actual} does not match the published {published}")));
    }
    std::fs::create_dir_all(cache_dir).map_err(|source| PluginError::Read { path: cache_dir.into(), source })?;
    std::fs::write(&target, &body).map_err(|source| PluginError::Read { path: target.clone(), source })?;
    Ok(target)
}

fn sha1_digest(bytes: &[u8]) -> [u8; 20] {
    use sha1::Digest as _;
    sha1::Sha1::digest(bytes).into()
}
