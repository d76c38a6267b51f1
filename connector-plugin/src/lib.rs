//! The Camel connector plugin, got the same way by `infra package` (a ZIP
//! for MSK Connect) and by `local` (unpacked on the worker's `plugin.path`):
//! by its Maven coordinates (`pipeline_settings::connector::PLUGIN`), from Maven
//! Central first, then from the extra repositories named in
//! `MAVEN_EXTRA_REPOSITORIES`; checked against the repository's published
//! SHA-1, then against a SHA-256 pin that names the repository it pins.

pub mod archive;
pub mod pins;
pub mod repository;

use std::path::{Path, PathBuf};

use pipeline_settings::connector::Coordinates;
use thiserror::Error;

pub use archive::{repackage_as_zip, unpack};
pub use pins::{PinOutcome, Pins};
pub use repository::{Repositories, MAVEN_CENTRAL};

#[derive(Debug, Error)]
pub enum PluginError {
    #[error("reading or writing {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the plugin archive {path} from {repository} has SHA-256 {actual}, expected {expected} (pinned in {pin_file}): a different or corrupted file; if you changed the version or repository on purpose, remove that line")]
    Digest { path: PathBuf, repository: String, expected: String, actual: String, pin_file: PathBuf },
    #[error("the plugin archive {path} has SHA-256 {actual}, expected {expected}: a different or corrupted file")]
    GivenDigest { path: PathBuf, expected: String, actual: String },
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
    #[error("{coordinates} was found in none of {tried}; set MAVEN_EXTRA_REPOSITORIES to a repository that has it (see docs/connector.md)")]
    NotFound { coordinates: String, tried: String },
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A verified plugin archive in the cache.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub path: PathBuf,
    /// The repository it came from.
    pub repository: String,
    pub sha256: String,
    pub pin: PinOutcome,
}

impl Fetched {
    pub fn bytes(&self) -> Result<Vec<u8>, PluginError> {
        std::fs::read(&self.path).map_err(|source| PluginError::Io { path: self.path.clone(), source })
    }
}

/// Fetches `coordinates` into `cache_dir` (once; a later call uses the cached
/// file) and holds it to its pin: the pin of the repository it came from,
/// written on first download.
pub async fn fetch(
    coordinates: &Coordinates,
    repositories: &Repositories,
    cache_dir: &Path,
    pins: &Pins,
) -> Result<Fetched, PluginError> {
    let (path, repository) = repository::fetch_cached(coordinates, repositories, cache_dir).await?;
    let bytes = std::fs::read(&path).map_err(|source| PluginError::Io { path: path.clone(), source })?;
    let sha256 = sha256_hex(&bytes);
    let pin = pins.check_or_record(coordinates, &repository, &sha256, &path)?;
    Ok(Fetched { path, repository, sha256, pin })
}

/// Reads a local copy of the archive, checked against `expected` (hex SHA-256) when given.
pub fn read_verified(path: &Path, expected: Option<&str>) -> Result<Vec<u8>, PluginError> {
    let bytes = std::fs::read(path).map_err(|source| PluginError::Io { path: path.into(), source })?;
    if let Some(expected) = expected {
        let actual = sha256_hex(&bytes);
        if !actual.eq_ignore_ascii_case(expected.trim()) {
            return Err(PluginError::GivenDigest { path: path.into(), expected: expected.trim().to_owned(), actual });
        }
    }
    Ok(bytes)
}

/// The cache outside the clone where the plugin is kept (`KML_CACHE`, else
/// `$XDG_CACHE_HOME/kinesis-msk-lambda`, else `~/.cache/kinesis-msk-lambda`),
/// the rule `tools/` and `local` follow too.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("KML_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("kinesis-msk-lambda")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/kinesis-msk-lambda")))
        .unwrap_or_else(std::env::temp_dir)
        .join("camel")
}
