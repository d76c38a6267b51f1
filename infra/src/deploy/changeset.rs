//! Change sets: what a deployment will do, shown before it is done. A change
//! set with nothing to change is how CloudFormation says "up to date", which
//! makes a second `deploy` a no-op that exits 0.

use std::time::Duration;

use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, Parameter};

use crate::aws::describe;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChange {
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    pub replacement: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub stack_id: String,
    pub kind: ChangeSetType,
    pub changes: Vec<ResourceChange>,
}

pub enum Prepared {
    NoChanges,
    Plan(Plan),
}

pub enum TemplateSource {
    Body(String),
    Url(String),
}

/// What CloudFormation writes when the template and parameters match the
/// stack (the wording differs between create paths).
fn means_no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

pub async fn create(
    cf: &aws_sdk_cloudformation::Client,
    stack: &str,
    template: &TemplateSource,
    parameters: Vec<Parameter>,
    kind: ChangeSetType,
    poll: Duration,
) -> anyhow::Result<Prepared> {
    let name = format!("deploy-{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis());
    let mut request = cf
        .create_change_set()
        .stack_name(stack)
        .change_set_name(&name)
        .change_set_type(kind.clone())
        .set_parameters(Some(parameters))
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .description("infra deploy");
    request = match template {
        TemplateSource::Body(body) => request.template_body(body),
        TemplateSource::Url(url) => request.template_url(url),
    };
    let created = match request.send().await {
        Ok(created) => created,
        // Some implementations refuse the request itself rather than failing
        // the change set.
        Err(e) if means_no_changes(&describe(&e)) => {
            tracing::info!(reason = %describe(&e), "CreateChangeSet refused: no changes");
            return Ok(Prepared::NoChanges);
        }
        Err(e) => anyhow::bail!("creating change set for {stack}: {}", describe(&e)),
    };
    let stack_id = created.stack_id().unwrap_or(stack).to_owned();

    loop {
        let described = cf
            .describe_change_set()
            .stack_name(&stack_id)
            .change_set_name(&name)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("reading change set {name}: {}", describe(&e)))?;
        match described.status() {
            Some(ChangeSetStatus::CreateComplete) => {
                // No resource changes can still change outputs or
                // parameters, so such a change set is executed, not dropped
                // (CloudFormation itself fails a change set that changes
                // nothing, handled below).
                let changes = collect_changes(cf, &stack_id, &name, described).await?;
                return Ok(Prepared::Plan(Plan { name, stack_id, kind, changes }));
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = described.status_reason().unwrap_or("no reason given").to_owned();
                delete_quietly(cf, &stack_id, &name).await;
                if means_no_changes(&reason) {
                    tracing::info!(%reason, "change set failed: no changes");
                    return Ok(Prepared::NoChanges);
                }
                anyhow::bail!("CloudFormation refused the change set for {stack}: {reason}");
            }
            _ => tokio::time::sleep(poll).await,
        }
    }
}

async fn collect_changes(
    cf: &aws_sdk_cloudformation::Client,
    stack_id: &str,
    name: &str,
    first: aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput,
) -> anyhow::Result<Vec<ResourceChange>> {
    let mut changes = Vec::new();
    let mut page = first;
    loop {
        for change in page.changes() {
            if let Some(rc) = change.resource_change() {
                changes.push(ResourceChange {
                    action: rc.action().map(|a| a.as_str().to_owned()).unwrap_or_default(),
                    logical_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: rc.resource_type().unwrap_or_default().to_owned(),
                    replacement: rc.replacement().map(|r| r.as_str().to_owned()),
                });
            }
        }
        let Some(token) = page.next_token().map(str::to_owned) else { break };
        page = cf
            .describe_change_set()
            .stack_name(stack_id)
            .change_set_name(name)
            .next_token(token)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("reading change set {name}: {}", describe(&e)))?;
    }
    Ok(changes)
}

async fn delete_quietly(cf: &aws_sdk_cloudformation::Client, stack_id: &str, name: &str) {
    if let Err(e) = cf.delete_change_set().stack_name(stack_id).change_set_name(name).send().await {
        eprintln!("note: could not delete change set {name}: {}", describe(&e));
    }
}

pub fn print(plan: &Plan) {
    println!("Change set {} ({} changes):", plan.name, plan.changes.len());
    for c in &plan.changes {
        let replacement = match c.replacement.as_deref() {
            Some("True") => "  REPLACES the resource",
            Some("Conditional") => "  may replace the resource",
            _ => "",
        };
        println!("  {:<8} {:<36} {}{replacement}", c.action, c.logical_id, c.resource_type);
    }
}

pub async fn execute(cf: &aws_sdk_cloudformation::Client, plan: &Plan) -> anyhow::Result<()> {
    cf.execute_change_set()
        .stack_name(&plan.stack_id)
        .change_set_name(&plan.name)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("executing change set {}: {}", plan.name, describe(&e)))?;
    Ok(())
}
