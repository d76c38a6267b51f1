//! SHA-256 pins that name what they pin: each line is
//! `<sha256>  <coordinates>  <repository>`. The same coordinates built
//! elsewhere (a local build of the upstream tag, a mirror's copy) have other
//! bytes, so a pin holds only for the repository it names.
//!
//! Pins of portable repositories (Maven Central, an `https://` mirror) go to
//! the committed file (`infra/camel-plugin.sha256`): the first download from
//! them writes the line, to commit. Pins of `file://` repositories (a folder
//! on this machine: a path, and locally built bytes) stay in the cache, never
//! in the repository, so they can never pass for Maven Central's.

use std::path::{Path, PathBuf};

use pipeline_settings::connector::Coordinates;

use crate::PluginError;

#[derive(Debug, Clone)]
pub struct Pins {
    /// Committed pins (Maven Central, https mirrors).
    pub committed: PathBuf,
    /// This machine's pins (file:// repositories).
    pub machine: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinOutcome {
    /// Matched the pin in this file.
    Matched(PathBuf),
    /// No pin for this repository yet: written to this file.
    Recorded(PathBuf),
}

impl Pins {
    fn file_for(&self, repository: &str) -> &Path {
        if repository.starts_with("file://") {
            &self.machine
        } else {
            &self.committed
        }
    }

    /// The pinned digest of `coordinates` from `repository`, if any.
    pub fn lookup(&self, coordinates: &Coordinates, repository: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.file_for(repository)).ok()?;
        let name = coordinates.to_string();
        text.lines().filter(|l| !l.trim_start().starts_with('#')).find_map(|line| {
            let mut fields = line.split_whitespace();
            let (digest, pinned, from) = (fields.next()?, fields.next()?, fields.next()?);
            (pinned == name && from == repository).then(|| digest.to_owned())
        })
    }

    pub fn check_or_record(
        &self,
        coordinates: &Coordinates,
        repository: &str,
        sha256: &str,
        path: &Path,
    ) -> Result<PinOutcome, PluginError> {
        let file = self.file_for(repository).to_path_buf();
        match self.lookup(coordinates, repository) {
            Some(expected) if expected.eq_ignore_ascii_case(sha256) => Ok(PinOutcome::Matched(file)),
            Some(expected) => Err(PluginError::Digest {
                path: path.into(),
                repository: repository.into(),
                expected,
                actual: sha256.into(),
                pin_file: file,
            }),
            None => {
                let mut text = std::fs::read_to_string(&file).unwrap_or_else(|_| HEADER.to_owned());
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(&format!("{sha256}  {coordinates}  {repository}\n"));
                let dir = file.parent().unwrap_or(Path::new("."));
                crate::repository::write_atomically(dir, &file, text.as_bytes())?;
                Ok(PinOutcome::Recorded(file))
            }
        }
    }
}

const HEADER: &str = "# SHA-256 pins of the connector plugin: <sha256>  <coordinates>  <the repository they hold for>.
# A pin holds only for the repository it names: the same coordinates built elsewhere have other bytes.
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_holds_only_for_the_repository_it_names() {
        let work = tempfile::tempdir().expect("tempdir");
        let pins = Pins { committed: work.path().join("committed"), machine: work.path().join("machine") };
        let plugin = pipeline_settings::connector::PLUGIN;
        let archive = work.path().join("a.tar.gz");
        let central = crate::MAVEN_CENTRAL;
        let local = "file:///srv/maven";

        let first = pins.check_or_record(&plugin, local, "aa", &archive).expect("recorded");
        assert_eq!(first, PinOutcome::Recorded(pins.machine.clone()), "file:// pins stay on this machine");
        assert!(!pins.committed.exists(), "and never reach the committed file");
        assert!(matches!(pins.check_or_record(&plugin, local, "aa", &archive), Ok(PinOutcome::Matched(_))));
        let error = pins.check_or_record(&plugin, local, "bb", &archive).expect_err("changed bytes");
        assert!(error.to_string().contains("expected aa"), "{error}");

        // Maven Central's bytes differ from the local build: their own pin, in the committed file.
        let central_pin = pins.check_or_record(&plugin, central, "cc", &archive).expect("recorded");
        assert_eq!(central_pin, PinOutcome::Recorded(pins.committed.clone()));
        let committed = std::fs::read_to_string(&pins.committed).expect("committed");
        assert!(committed.contains(&format!("cc  {plugin}  {central}")), "{committed}");
        assert!(!committed.contains("aa"), "{committed}");
    }
}
