//! Maven repositories, searched in order: Maven Central (or the
//! `MAVEN_REPOSITORY` that replaces it, a company mirror), then each of
//! `MAVEN_EXTRA_REPOSITORIES` (space- or comma-separated URLs, `file://` for
//! a repository on disk). A file is taken from the first repository that has
//! it, checked against the SHA-1 that repository publishes beside it.

use std::path::{Path, PathBuf};

use pipeline_settings::connector::Coordinates;

use crate::PluginError;

pub const MAVEN_CENTRAL: &str = "https://repo1.maven.org/maven2";

/// The one setting that adds repositories after Maven Central.
pub const EXTRA_REPOSITORIES_VAR: &str = "MAVEN_EXTRA_REPOSITORIES";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repositories(pub Vec<String>);

impl Repositories {
    /// `primary` (Maven Central unless a mirror replaces it), then `extra`.
    pub fn new(primary: &str, extra: &str) -> Self {
        let mut all = vec![primary.trim_end_matches('/').to_owned()];
        all.extend(
            extra
                .split([' ', ',', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.trim_end_matches('/').to_owned()),
        );
        all.dedup();
        Self(all)
    }

    /// Maven Central (or `MAVEN_REPOSITORY`), then `MAVEN_EXTRA_REPOSITORIES`.
    pub fn from_env() -> Self {
        let primary = std::env::var("MAVEN_REPOSITORY").ok().filter(|s| !s.trim().is_empty());
        let extra = std::env::var(EXTRA_REPOSITORIES_VAR).unwrap_or_default();
        Self::new(primary.as_deref().unwrap_or(MAVEN_CENTRAL), &extra)
    }
}

/// The cached copy of `coordinates` and the repository it came from,
/// downloading it first if the cache has none.
pub(crate) async fn fetch_cached(
    coordinates: &Coordinates,
    repositories: &Repositories,
    cache_dir: &Path,
) -> Result<(PathBuf, String), PluginError> {
    let target = cache_dir.join(coordinates.file_name());
    let origin_file = cache_dir.join(format!("{}.origin", coordinates.file_name()));
    if let (true, Ok(origin)) = (target.is_file(), std::fs::read_to_string(&origin_file)) {
        return Ok((target, origin.trim().to_owned()));
    }
    let mut tried = Vec::new();
    for repository in &repositories.0 {
        let url = format!("{repository}/{}", coordinates.path());
        match get(&url).await {
            Ok(Some(body)) => {
                let published = get(&format!("{url}.sha1"))
                    .await
                    .and_then(|s| s.ok_or_else(|| "no .sha1 published beside it".to_owned()))
                    .map_err(|reason| PluginError::Download { url: url.clone(), reason })?;
                let published =
                    String::from_utf8_lossy(&published).split_whitespace().next().unwrap_or_default().to_owned();
                let actual = sha1_hex(&body);
                if !actual.eq_ignore_ascii_case(&published) {
                    return Err(PluginError::Download {
                        url,
                        reason: format!("SHA-1 {actual} does not match the published {published}"),
                    });
                }
                write_atomically(cache_dir, &target, &body)?;
                write_atomically(cache_dir, &origin_file, repository.as_bytes())?;
                return Ok((target, repository.clone()));
            }
            Ok(None) => tried.push(format!("{repository} (not there)")),
            Err(reason) => tried.push(format!("{repository} ({reason})")),
        }
    }
    Err(PluginError::NotFound { coordinates: coordinates.to_string(), tried: tried.join(", ") })
}

/// The body at `url`, `None` when the repository does not have it.
async fn get(url: &str) -> Result<Option<Vec<u8>>, String> {
    if let Some(path) = url.strip_prefix("file://") {
        return match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        };
    }
    let response = reqwest::get(url).await.map_err(|e| e.to_string())?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let response = response.error_for_status().map_err(|e| e.to_string())?;
    response.bytes().await.map(|b| Some(b.to_vec())).map_err(|e| e.to_string())
}

fn sha1_hex(bytes: &[u8]) -> String {
    use sha1::Digest as _;
    hex::encode(sha1::Sha1::digest(bytes))
}

/// Writes through a temporary file and a rename, so concurrent runs (tests
/// in parallel) never see half a file.
pub(crate) fn write_atomically(dir: &Path, target: &Path, bytes: &[u8]) -> Result<(), PluginError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PluginError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let temporary = dir.join(format!(".{}.{}.tmp", std::process::id(), unique()));
    std::fs::write(&temporary, bytes).map_err(io(&temporary))?;
    std::fs::rename(&temporary, target).map_err(io(target))
}

pub(crate) fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    nanos ^ NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn central_first_then_the_extra_repositories_in_order() {
        let r = Repositories::new(MAVEN_CENTRAL, "file:///srv/maven/, https://mirror.example/m2 ,");
        assert_eq!(r.0, [MAVEN_CENTRAL, "file:///srv/maven", "https://mirror.example/m2"]);
    }

    #[tokio::test]
    async fn a_repository_without_the_file_is_skipped_and_the_next_one_serves_it() {
        let coordinates = pipeline_settings::connector::PLUGIN;
        let work = tempfile::tempdir().expect("tempdir");
        let (empty, full) = (work.path().join("empty"), work.path().join("full"));
        let file = full.join(coordinates.path());
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(&file, b"archive").expect("write");
        std::fs::write(format!("{}.sha1", file.display()), sha1_hex(b"archive")).expect("sha1");
        let repositories =
            Repositories::new(&format!("file://{}", empty.display()), &format!("file://{}", full.display()));
        let cache = work.path().join("cache");
        let (path, origin) = fetch_cached(&coordinates, &repositories, &cache).await.expect("fetched");
        assert_eq!(std::fs::read(path).expect("cached"), b"archive");
        assert_eq!(origin, format!("file://{}", full.display()));

        let nowhere = Repositories::new(&format!("file://{}", empty.display()), "");
        let error = fetch_cached(&coordinates, &nowhere, &work.path().join("other")).await.expect_err("absent");
        assert!(error.to_string().contains("MAVEN_EXTRA_REPOSITORIES"), "{error}");
    }
}
