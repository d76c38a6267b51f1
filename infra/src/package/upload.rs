//! The artifacts bucket: created on first use (private, owner-enforced), with
//! objects keyed by content hash, so an unchanged artifact uploads nothing and
//! a changed one gets a new key, which is what makes CloudFormation update the
//! function or the plugin.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration};

use crate::aws::describe;
use connector_plugin::sha256_hex;

pub struct ArtifactsBucket<'a> {
    pub s3: &'a aws_sdk_s3::Client,
    pub name: String,
    pub account: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Upload {
    Unchanged,
    Uploaded,
}

pub fn content_key(prefix: &str, name: &str, bytes: &[u8]) -> String {
    format!("{prefix}/{name}-{}.zip", &sha256_hex(bytes)[..16])
}

impl ArtifactsBucket<'_> {
    pub async fn ensure_exists(&self, region: &str) -> anyhow::Result<bool> {
        match self.s3.head_bucket().bucket(&self.name).expected_bucket_owner(&self.account).send().await {
            Ok(_) => return Ok(false),
            Err(err) if err.raw_response().is_some_and(|r| r.status().as_u16() == 403) => anyhow::bail!(
                "artifacts bucket {} exists but not in account {}: pass --artifacts-bucket with a bucket you own",
                self.name,
                self.account
            ),
            Err(err) if err.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {}
            Err(err) => anyhow::bail!("checking artifacts bucket {}: {}", self.name, describe(&err)),
        }
        let mut create = self.s3.create_bucket().bucket(&self.name);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        create
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("creating artifacts bucket {}: {}", self.name, describe(&e)))?;
        let block = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .block_public_policy(true)
            .ignore_public_acls(true)
            .restrict_public_buckets(true)
            .build();
        self.s3
            .put_public_access_block()
            .bucket(&self.name)
            .public_access_block_configuration(block)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("blocking public access on {}: {}", self.name, describe(&e)))?;
        Ok(true)
    }

    pub async fn upload(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<Upload> {
        match self.s3.head_object().bucket(&self.name).key(key).expected_bucket_owner(&self.account).send().await {
            Ok(_) => return Ok(Upload::Unchanged),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => {}
            Err(err) if err.code() == Some("NotFound") => {}
            Err(err) => anyhow::bail!("checking s3://{}/{key}: {}", self.name, describe(&err)),
        }
        self.s3
            .put_object()
            .bucket(&self.name)
            .key(key)
            .expected_bucket_owner(&self.account)
            .body(bytes.into())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("uploading s3://{}/{key}: {}", self.name, describe(&e)))?;
        Ok(Upload::Uploaded)
    }
}
