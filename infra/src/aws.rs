//! One SDK configuration for every subcommand: the default credential chain,
//! `--profile` and `--region`, and the standard `AWS_ENDPOINT_URL[_<SERVICE>]`
//! variables, which is how the tests point the very same code at moto.

use aws_config::{BehaviorVersion, Region, SdkConfig};

#[derive(Debug, Clone, clap::Args)]
pub struct AwsArgs {
    /// Named profile from ~/.aws/config (default: the default credential chain).
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// Region to deploy to (default: from the profile or AWS_REGION).
    #[arg(long, global = true, env = "AWS_REGION")]
    pub region: Option<String>,
}

pub struct Clients {
    pub config: SdkConfig,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub kafkaconnect: aws_sdk_kafkaconnect::Client,
    pub sts: aws_sdk_sts::Client,
}

impl AwsArgs {
    pub async fn load(&self) -> anyhow::Result<Clients> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let config = loader.load().await;
        if config.region().is_none() {
            anyhow::bail!("no AWS region: pass --region, set AWS_REGION, or set one in your profile");
        }
        Ok(Clients::new(config))
    }
}

impl Clients {
    pub fn new(config: SdkConfig) -> Self {
        // A custom endpoint (moto, LocalStack) serves buckets by path, not by
        // virtual host names that loopback cannot resolve.
        let s3_config =
            aws_sdk_s3::config::Builder::from(&config).force_path_style(config.endpoint_url().is_some()).build();
        Self {
            cloudformation: aws_sdk_cloudformation::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            kafkaconnect: aws_sdk_kafkaconnect::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            config,
        }
    }

    pub fn region(&self) -> String {
        self.config.region().map(|r| r.to_string()).unwrap_or_default()
    }

    /// The account the credentials belong to (names the artifacts bucket).
    pub async fn account_id(&self) -> anyhow::Result<String> {
        let identity = self.sts.get_caller_identity().send().await.map_err(|e| {
            anyhow::anyhow!("who am I (sts:GetCallerIdentity): {}; check your credentials or --profile", describe(&e))
        })?;
        Ok(identity.account().unwrap_or_default().to_owned())
    }
}

/// The message and code of an SDK error, without the Debug dump of the
/// request (which is what `{:?}` on an `SdkError` gives a user).
pub fn describe<E, R>(err: &aws_sdk_cloudformation::error::SdkError<E, R>) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err.as_service_error() {
        Some(service) => match (service.code(), service.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => service.to_string(),
        },
        None => aws_smithy_types::error::display::DisplayErrorContext(err).to_string(),
    }
}
