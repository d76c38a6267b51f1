//! `infra package`: the function zips and the connector plugin, uploaded to
//! the artifacts bucket by content hash. Its result is the set of template
//! parameters that point the stack at exactly these artifacts.

pub mod budget;
pub mod lambdas;
pub mod upload;

use std::path::{Path, PathBuf};

use crate::aws::Clients;
use crate::names::StackName;
use upload::{content_key, ArtifactsBucket, Upload};

/// The committed SHA-256 pins of the connector plugin (relative to the
/// repository root, where `make` runs the tool): one line per repository it
/// came from (Maven Central, an https mirror), written on the first download
/// from it, checked on every later one. Commit it. Pins of `file://`
/// repositories stay in the cache (`connector_plugin::pins`).
pub const PLUGIN_PIN_FILE: &str = "infra/camel-plugin.sha256";

/// Where the function zips are, and the size budgets they are held to
/// (`infra zips`, `infra package`).
#[derive(Debug, Clone, clap::Args)]
pub struct ZipsArgs {
    /// Directory of the function zips in cargo-lambda's layout (<dir>/<function>/bootstrap.zip).
    #[arg(long, default_value = "target/lambda")]
    pub lambda_dir: PathBuf,
    /// Size budgets to use instead of the committed ones for this run (function=bytes,…).
    #[arg(long, env = "ZIP_BUDGETS", default_value = "")]
    pub zip_budgets: String,
}

impl ZipsArgs {
    /// The zips, each printed beside its budget; an error naming every zip past it.
    pub fn read_within_budget(&self) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
        let zips = lambdas::read_zips(&self.lambda_dir)?;
        lambdas::check_budgets(&zips, &self.zip_budgets)?;
        Ok(zips)
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct PackageArgs {
    #[command(flatten)]
    pub zips: ZipsArgs,
    /// Use the zips already in --lambda-dir instead of running `cargo lambda build --release --arm64`.
    #[arg(long)]
    pub skip_build: bool,
    /// A local copy of the Camel plugin archive (camel-aws-kinesis-source-kafka-connector-<version>-package.tar.gz) instead of fetching it by its coordinates.
    #[arg(long)]
    pub plugin_archive: Option<PathBuf>,
    /// Expected SHA-256 of the --plugin-archive copy.
    #[arg(long)]
    pub plugin_sha256: Option<String>,
    /// Maven repository searched first for the plugin (default Maven Central; a company mirror replaces it).
    #[arg(long, env = "MAVEN_REPOSITORY", default_value = connector_plugin::MAVEN_CENTRAL)]
    pub plugin_repository: String,
    /// Repositories searched after it, in order (space- or comma-separated; file:// for a folder).
    #[arg(long, env = "MAVEN_EXTRA_REPOSITORIES", default_value = "")]
    pub extra_repositories: String,
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
        "kinesis-forwarder" => "ForwarderCodeKey",
        _ => "TopicCreatorCodeKey",
    }
}

/// The plugin archive, verified, as the ZIP MSK Connect takes.
async fn plugin_zip(args: &PackageArgs) -> anyhow::Result<Vec<u8>> {
    let (path, archive) = match &args.plugin_archive {
        Some(path) => {
            if args.plugin_sha256.is_none() {
                eprintln!("warning: {} is not checked against a pin; pass --plugin-sha256", path.display());
            }
            (path.clone(), connector_plugin::read_verified(path, args.plugin_sha256.as_deref())?)
        }
        None => {
            let fetched = fetch_plugin(args).await?;
            let bytes = fetched.bytes()?;
            (fetched.path, bytes)
        }
    };
    Ok(connector_plugin::repackage_as_zip(&path, &archive)?)
}

/// `pipeline_settings::connector::PLUGIN` by its coordinates: the repositories in order,
/// the published SHA-1, then the pin of the repository it came from.
pub async fn fetch_plugin(args: &PackageArgs) -> anyhow::Result<connector_plugin::Fetched> {
    let plugin = pipeline_settings::connector::PLUGIN;
    let repositories = connector_plugin::Repositories::new(&args.plugin_repository, &args.extra_repositories);
    eprintln!("fetching {plugin} from {}", repositories.0.join(", then "));
    let cache = connector_plugin::cache_dir();
    let pins = connector_plugin::Pins { committed: PLUGIN_PIN_FILE.into(), machine: cache.join("machine-pins.sha256") };
    let fetched = connector_plugin::fetch(&plugin, &repositories, &cache, &pins).await?;
    match &fetched.pin {
        connector_plugin::PinOutcome::Matched(_) => {}
        connector_plugin::PinOutcome::Recorded(file) if file == Path::new(PLUGIN_PIN_FILE) => eprintln!(
            "pinned the plugin archive's SHA-256 {} from {} in {PLUGIN_PIN_FILE}: commit it",
            fetched.sha256, fetched.repository
        ),
        connector_plugin::PinOutcome::Recorded(file) => eprintln!(
            "pinned the plugin archive's SHA-256 {} from {} in {} (this machine only)",
            fetched.sha256,
            fetched.repository,
            file.display()
        ),
    }
    Ok(fetched)
}

pub async fn package(clients: &Clients, stack: &StackName, args: &PackageArgs) -> anyhow::Result<Artifacts> {
    // The zips first: one past its budget stops here, before any AWS call.
    if !args.skip_build {
        lambdas::build(&args.zips.lambda_dir)?;
    }
    let zips = args.zips.read_within_budget()?;
    let account = clients.account_id().await?;
    let region = clients.region();
    let bucket = ArtifactsBucket {
        s3: &clients.s3,
        name: args.artifacts_bucket.clone().unwrap_or_else(|| stack.artifacts_bucket(&account, &region)),
        account,
    };

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
    let key = content_key(
        "plugins",
        &format!("camel-aws-kinesis-source-{}", pipeline_settings::connector::PLUGIN.version),
        &plugin,
    );
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
