//! `infra package`: the function zips and the connector plugin, uploaded to
//! the artifacts bucket by content hash. Its result is the set of template
//! parameters that point the stack at exactly these artifacts.

pub mod lambdas;
pub mod plugin;
pub mod upload;

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::aws::Clients;
use crate::names::StackName;
use upload::{content_key, ArtifactsBucket, Upload};

/// Where a digest pin for the downloaded plugin lives (relative to the
/// repository root, where `make` runs the tool): written on the first
/// download, checked on every later one. Commit it.
pub const PLUGIN_PIN_FILE: &str = "infra/camel-plugin.sha256";

#[derive(Debug, Clone, clap::Args)]
pub struct PackageArgs {
    /// Directory of the function zips in cargo-lambda's layout (<dir>/<function>/bootstrap.zip).
    #[arg(long, default_value = "target/lambda")]
    pub lambda_dir: PathBuf,
    /// Use the zips already in --lambda-dir instead of running `cargo lambda build --release --arm64`.
    #[arg(long)]
    pub skip_build: bool,
    /// A local copy of the Camel plugin archive (camel-aws-kinesis-source-kafka-connector-<version>-package.tar.gz) instead of downloading it from Maven Central.
    #[arg(long)]
    pub plugin_archive: Option<PathBuf>,
    /// Expected SHA-256 of the plugin archive (default: the pin in infra/camel-plugin.sha256).
    #[arg(long)]
    pub plugin_sha256: Option<String>,
    /// Maven repository to download the plugin from (a mirror, if Maven Central is not reachable).
    #[arg(long, env = "MAVEN_REPOSITORY", default_value = plugin::MAVEN_CENTRAL)]
    pub plugin_repository: String,
    /// Artifacts bucket (default: <stack>-artifacts-<account>-<region>, created private if missing).
    #[arg(long)]
    pub artifacts_bucket: Option<String>,
}

/// The S3 location of every artifact, as template parameters.
#[derive(Debug, Clone)]
pub struct Artifacts {
    pub bucket: String,
    pub account: String,
    pub keys: Vec<(&'static str, String)>,
}

impl Artifacts {
    pub fn parameters(&self) -> Vec<(String, String)> {
        let mut parameters = vec![("ArtifactsBucket".to_owned(), self.bucket.clone())];
        parameters.extend(self.keys.iter().map(|(p, k)| ((*p).to_owned(), k.clone())));
        parameters
    }
}

fn parameter_for(function: &str) -> &'static str {
    match function {
        "producer" => "ProducerCodeKey",
        "msk-consumer" => "ConsumerCodeKey",
        _ => "TopicCreatorCodeKey",
    }
}

fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("kinesis-msk-lambda/camel")
}

async fn plugin_zip(args: &PackageArgs) -> anyhow::Result<Vec<u8>> {
    let pin = std::fs::read_to_string(PLUGIN_PIN_FILE).ok().map(|s| s.trim().to_owned());
    let (path, expected) = match &args.plugin_archive {
        Some(path) => (path.clone(), args.plugin_sha256.clone().or(pin)),
        None => {
            eprintln!("fetching {}", plugin::archive_url(&args.plugin_repository));
            let path = plugin::download(&args.plugin_repository, &cache_dir()).await?;
            (path, args.plugin_sha256.clone().or(pin))
        }
    };
    let archive = plugin::read_verified(&path, expected.as_deref())?;
    if expected.is_none() {
        let digest = plugin::sha256_hex(&archive);
        if args.plugin_archive.is_none() {
            let pin_file = Path::new(PLUGIN_PIN_FILE);
            if let Some(dir) = pin_file.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(pin_file, format!("{digest}\n"))
                .with_context(|| format!("writing the plugin pin {PLUGIN_PIN_FILE}"))?;
            eprintln!("pinned the plugin archive's SHA-256 {digest} in {PLUGIN_PIN_FILE}: commit it");
        } else {
            eprintln!(
                "warning: {} is not checked against a pin (SHA-256 {digest}); pass --plugin-sha256",
                path.display()
            );
        }
    }
    Ok(plugin::repackage_as_zip(&path, &archive)?)
}

pub async fn package(clients: &Clients, stack: &StackName, args: &PackageArgs) -> anyhow::Result<Artifacts> {
    let account = clients.account_id().await?;
    let region = clients.region();
    let bucket = ArtifactsBucket {
        s3: &clients.s3,
        name: args.artifacts_bucket.clone().unwrap_or_else(|| stack.artifacts_bucket(&account, &region)),
        account,
    };

    if !args.skip_build {
        lambdas::build(&args.lambda_dir)?;
    }
    let zips = lambdas::read_zips(&args.lambda_dir)?;
    let plugin = plugin_zip(args).await?;

    if bucket.ensure_exists(&region).await? {
        eprintln!("created artifacts bucket {}", bucket.name);
    }
    let account = bucket.account.clone();
    let mut keys = Vec::new();
    for (function, bytes) in zips {
        let key = content_key("lambdas", function, &bytes);
        report(&bucket.name, &key, bytes.len(), bucket.upload(&key, bytes).await?);
        keys.push((parameter_for(function), key));
    }
    let key = content_key("plugins", &format!("camel-aws-kinesis-source-{}", plugin::CAMEL_VERSION), &plugin);
    report(&bucket.name, &key, plugin.len(), bucket.upload(&key, plugin).await?);
    keys.push(("ConnectorPluginKey", key));
    Ok(Artifacts { bucket: bucket.name, account, keys })
}

fn report(bucket: &str, key: &str, size: usize, upload: Upload) {
    let what = match upload {
        Upload::Unchanged => "unchanged",
        Upload::Uploaded => "uploaded ",
    };
    eprintln!("  {what} s3://{bucket}/{key} ({:.1} MiB)", size as f64 / 1_048_576.0);
}
