//! `infra deploy`: package, then create or update the stack through a change
//! set (shown, confirmed, executed), following its events live; on failure the
//! first failing resource and its reason, on success the outputs.

pub mod changeset;
pub mod events;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_cloudformation::types::{ChangeSetType, Parameter, StackStatus};

use crate::aws::Clients;
use crate::names::StackName;
use crate::package::{package, PackageArgs};
use crate::template::TemplateArgs;
use crate::{confirm, stack};
use changeset::{Prepared, TemplateSource};
use events::EventWatcher;

/// CloudFormation's limit for an inline TemplateBody; larger ones go by S3 URL.
const MAX_TEMPLATE_BODY: usize = 51_200;

#[derive(Debug, Clone, clap::Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub package: PackageArgs,
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Deploy this template file (e.g. one you edited) instead of rendering one.
    #[arg(long)]
    pub template_file: Option<PathBuf>,
    /// Template parameter, repeatable: --parameter ShardCount=4. Parameters not given keep their deployed value (or the default on create).
    #[arg(long = "parameter", value_name = "KEY=VALUE", value_parser = parse_parameter)]
    pub parameters: Vec<(String, String)>,
    /// Execute the change set without asking.
    #[arg(long)]
    pub yes: bool,
    /// Seconds between polls of the stack's events.
    #[arg(long, default_value_t = 5, hide = true)]
    pub poll_seconds: u64,
}

fn parse_parameter(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

fn template_parameters(body: &str) -> anyhow::Result<Vec<String>> {
    let template: serde_json::Value = serde_json::from_str(body).context("the template is not JSON")?;
    Ok(template["Parameters"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default())
}

/// The parameters of a change set: ours (artifact keys), the user's, then the
/// deployed value of every other parameter the stack already has.
pub fn merge_parameters(
    known: &[String],
    artifacts: Vec<(String, String)>,
    user: &[(String, String)],
    deployed: &[String],
) -> anyhow::Result<Vec<Parameter>> {
    for (key, _) in user {
        if !known.contains(key) {
            anyhow::bail!("--parameter {key}: the template has no such parameter; it has: {}", known.join(", "));
        }
    }
    let mut given: Vec<(String, String)> = artifacts;
    for (key, value) in user {
        given.retain(|(k, _)| k != key);
        given.push((key.clone(), value.clone()));
    }
    let mut parameters: Vec<Parameter> =
        given.iter().map(|(k, v)| Parameter::builder().parameter_key(k).parameter_value(v).build()).collect();
    for key in deployed {
        if known.contains(key) && !given.iter().any(|(k, _)| k == key) {
            parameters.push(Parameter::builder().parameter_key(key).use_previous_value(true).build());
        }
    }
    Ok(parameters)
}

pub async fn deploy(clients: &Clients, stack_name: &StackName, args: &DeployArgs) -> anyhow::Result<()> {
    let cf = &clients.cloudformation;
    let name = stack_name.as_str();
    let body = match &args.template_file {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        None => crate::template::render(&args.template.settings())?.to_json(),
    };
    let known = template_parameters(&body)?;

    let existing = stack::find(cf, name).await?;
    if let Some(status) = existing.as_ref().and_then(|s| s.stack_status()) {
        if let Some(reason) = stack::blocked_reason(name, status) {
            anyhow::bail!(reason);
        }
    }
    let kind = match existing.as_ref().and_then(|s| s.stack_status()) {
        None | Some(StackStatus::ReviewInProgress) => ChangeSetType::Create,
        Some(_) => ChangeSetType::Update,
    };
    let deployed: Vec<String> = match kind {
        ChangeSetType::Update => existing
            .as_ref()
            .map(|s| s.parameters().iter().filter_map(|p| p.parameter_key().map(str::to_owned)).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };

    eprintln!("packaging for stack {name} in {}", clients.region());
    let artifacts = package(clients, stack_name, &args.package).await?;
    let parameters = merge_parameters(&known, artifacts.parameters(), &args.parameters, &deployed)?;

    let template = if body.len() <= MAX_TEMPLATE_BODY {
        TemplateSource::Body(body)
    } else {
        let key = crate::package::upload::content_key("templates", name, body.as_bytes()).replace(".zip", ".json");
        let bucket = crate::package::upload::ArtifactsBucket {
            s3: &clients.s3,
            name: artifacts.bucket.clone(),
            account: artifacts.account.clone(),
        };
        bucket.upload(&key, body.into_bytes()).await?;
        TemplateSource::Url(format!("https://{}.s3.{}.amazonaws.com/{key}", artifacts.bucket, clients.region()))
    };

    let poll = Duration::from_secs(args.poll_seconds.max(1));
    let plan = match changeset::create(cf, name, &template, parameters, kind, poll.min(Duration::from_secs(2))).await? {
        Prepared::NoChanges => {
            println!("No changes: stack {name} is up to date.");
            return Ok(());
        }
        Prepared::Plan(plan) => plan,
    };
    changeset::print(&plan);
    if !args.yes && !confirm::ask(&format!("Execute change set {} on stack {name}?", plan.name), "yes")? {
        println!("Not executed. The change set stays in CloudFormation for review; the next deploy replaces it.");
        return Ok(());
    }

    let mut watcher = EventWatcher::start(cf, &plan.stack_id).await?;
    watcher.poll = poll;
    changeset::execute(cf, &plan).await?;
    let outcome = watcher.follow(name, plan.changes.len() as u64).await?;
    if let Some(message) = outcome.failure_message(name) {
        anyhow::bail!(message);
    }
    println!(
        "Stack {name}: {}",
        match &outcome {
            events::Outcome::Succeeded { status } => status.as_str(),
            _ => "gone",
        }
    );
    if let Some(deployed) = stack::find(cf, name).await? {
        stack::print_outputs(&deployed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_parameters_override_and_the_rest_keep_their_deployed_values() {
        let known: Vec<String> = ["ArtifactsBucket", "ShardCount", "BatchSize"].map(String::from).to_vec();
        let merged = merge_parameters(
            &known,
            vec![("ArtifactsBucket".into(), "b".into())],
            &[("ShardCount".into(), "4".into())],
            &["ArtifactsBucket".into(), "ShardCount".into(), "BatchSize".into(), "Removed".into()],
        )
        .expect("merge");
        let view: Vec<(String, Option<String>, Option<bool>)> = merged
            .iter()
            .map(|p| {
                (
                    p.parameter_key().unwrap_or_default().to_owned(),
                    p.parameter_value().map(str::to_owned),
                    p.use_previous_value(),
                )
            })
            .collect();
        assert_eq!(
            view,
            vec![
                ("ArtifactsBucket".into(), Some("b".into()), None),
                ("ShardCount".into(), Some("4".into()), None),
                ("BatchSize".into(), None, Some(true)),
            ]
        );
    }

    #[test]
    fn an_unknown_parameter_is_refused_with_the_known_ones() {
        let err = merge_parameters(&["ShardCount".into()], vec![], &[("Shards".into(), "4".into())], &[])
            .expect_err("unknown");
        assert!(err.to_string().contains("--parameter Shards: the template has no such parameter; it has: ShardCount"));
        assert_eq!(parse_parameter("noequals"), Err("\"noequals\" is not KEY=VALUE".into()));
    }
}
