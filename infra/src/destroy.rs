//! `infra destroy`: delete the stack (asking first), following its events,
//! and with `--purge` empty and delete the artifacts bucket too. The rides
//! table and the dead-letter bucket are retained by their DeletionPolicy
//! (the pipeline's output, and evidence): destroy names both and how to
//! delete them by hand.

use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use crate::aws::{describe, Clients};
use crate::deploy::events::EventWatcher;
use crate::names::StackName;
use crate::{confirm, stack};

#[derive(Debug, Clone, clap::Args)]
pub struct DestroyArgs {
    /// Delete without asking.
    #[arg(long)]
    pub yes: bool,
    /// Also empty and delete the artifacts bucket.
    #[arg(long)]
    pub purge: bool,
    /// The artifacts bucket, if deploy was given one.
    #[arg(long)]
    pub artifacts_bucket: Option<String>,
    /// Seconds between polls of the stack's events.
    #[arg(long, default_value_t = 5, hide = true)]
    pub poll_seconds: u64,
}

pub async fn destroy(clients: &Clients, stack_name: &StackName, args: &DestroyArgs) -> anyhow::Result<()> {
    let cf = &clients.cloudformation;
    let name = stack_name.as_str();
    let existing = stack::find(cf, name).await?;
    if existing.is_none() && !args.purge {
        println!("Stack {name} does not exist in {}: nothing to delete.", clients.region());
        return Ok(());
    }
    let bucket = match (&args.artifacts_bucket, args.purge) {
        (_, false) => None,
        (Some(bucket), true) => Some(bucket.clone()),
        (None, true) => Some(stack_name.artifacts_bucket(&clients.account_id().await?, &clients.region())),
    };
    let what = match (existing.is_some(), &bucket) {
        (true, Some(bucket)) => format!("Delete stack {name} and the artifacts bucket {bucket}?"),
        (true, None) => format!("Delete stack {name} (MSK, the connector, the functions, the VPC)?"),
        (false, Some(bucket)) => format!("Delete the artifacts bucket {bucket}?"),
        (false, None) => unreachable!("returned above"),
    };
    if !args.yes && !confirm::ask(&what, name)? {
        println!("Nothing deleted.");
        return Ok(());
    }

    if let Some(deployed) = existing {
        let stack_id = deployed.stack_id().unwrap_or(name).to_owned();
        let mut watcher = EventWatcher::start(cf, &stack_id).await?;
        watcher.poll = std::time::Duration::from_secs(args.poll_seconds.max(1));
        cf.delete_stack()
            .stack_name(&stack_id)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("deleting stack {name}: {}", describe(&e)))?;
        let outcome = watcher.follow(name, deployed.outputs().len() as u64).await?;
        if let Some(message) = outcome.failure_message(name) {
            anyhow::bail!(
                "{message}\nfix the cause (often a resource changed outside the stack), then run destroy again"
            );
        }
        println!("Stack {name} deleted.\n{}", kept_on_purpose(name));
    }
    if let Some(bucket) = bucket {
        purge_bucket(&clients.s3, &bucket).await?;
    }
    Ok(())
}

/// What a deleted stack leaves behind, and how to delete it.
pub fn kept_on_purpose(stack: &str) -> String {
    format!(
        "Kept on purpose (DeletionPolicy Retain), delete them when you no longer need them:\n\
         - the rides table {stack}-rides (every ride stored): aws dynamodb delete-table --table-name {stack}-rides\n\
         - the dead-letter bucket (poison records, discarded batches): empty it, then aws s3 rb s3://<bucket> \
           (its name is the stack's DeadLetterBucket output; versioned, so delete every version)"
    )
}

/// Deletes every object version and delete marker, then the bucket.
async fn purge_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> anyhow::Result<()> {
    let mut deleted = 0usize;
    loop {
        let listing = match s3.list_object_versions().bucket(bucket).send().await {
            Ok(listing) => listing,
            Err(e) if describe(&e).contains("NoSuchBucket") => {
                println!("Artifacts bucket {bucket} does not exist.");
                return Ok(());
            }
            Err(e) => anyhow::bail!("listing s3://{bucket}: {}", describe(&e)),
        };
        let mut objects = Vec::new();
        for v in listing.versions() {
            objects.push((v.key().unwrap_or_default().to_owned(), v.version_id().map(str::to_owned)));
        }
        for m in listing.delete_markers() {
            objects.push((m.key().unwrap_or_default().to_owned(), m.version_id().map(str::to_owned)));
        }
        if objects.is_empty() {
            break;
        }
        for chunk in objects.chunks(1000) {
            let ids = chunk
                .iter()
                .map(|(key, version)| ObjectIdentifier::builder().key(key).set_version_id(version.clone()).build())
                .collect::<Result<Vec<_>, _>>()?;
            let delete = Delete::builder().set_objects(Some(ids)).quiet(true).build()?;
            s3.delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("emptying s3://{bucket}: {}", describe(&e)))?;
            deleted += chunk.len();
        }
    }
    s3.delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("deleting bucket {bucket}: {}", describe(&e)))?;
    println!("Artifacts bucket {bucket} deleted ({deleted} objects).");
    Ok(())
}
