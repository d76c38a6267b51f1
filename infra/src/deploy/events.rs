//! Stack events as they happen: what `deploy` and `destroy` print while
//! CloudFormation works, a progress bar over the resources it touches, and,
//! when it fails, the first resource that failed and why (the line a user
//! otherwise digs out of the console).

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_cloudformation::types::StackStatus;
use indicatif::{ProgressBar, ProgressStyle};

use crate::aws::describe;
use crate::stack;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    pub id: String,
    pub time: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

impl From<&aws_sdk_cloudformation::types::StackEvent> for StackEvent {
    fn from(e: &aws_sdk_cloudformation::types::StackEvent) -> Self {
        Self {
            id: e.event_id().unwrap_or_default().to_owned(),
            time: e
                .timestamp()
                .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                .unwrap_or_default(),
            logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: e.resource_type().unwrap_or_default().to_owned(),
            status: e.resource_status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            reason: e.resource_status_reason().map(str::to_owned),
        }
    }
}

impl std::fmt::Display for StackEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}  {:<28} {:<36} {}", self.time, self.status, self.logical_id, self.resource_type)?;
        match &self.reason {
            Some(reason) if !reason.is_empty() => write!(f, "  ({reason})"),
            _ => Ok(()),
        }
    }
}

/// The resource whose failure started a rollback: the oldest failed event
/// that is not a cancellation caused by another resource's failure.
pub fn first_failure<'a>(oldest_first: &'a [StackEvent], stack_name: &str) -> Option<&'a StackEvent> {
    let failed = |e: &&StackEvent| e.status.ends_with("_FAILED");
    let cancelled = |e: &&StackEvent| e.reason.as_deref().is_some_and(|r| r.contains("cancelled"));
    oldest_first
        .iter()
        .filter(failed)
        .find(|e| e.logical_id != stack_name && !cancelled(e))
        .or_else(|| oldest_first.iter().find(failed))
}

/// How a stack operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded {
        status: String,
    },
    Failed {
        status: String,
        stack_reason: Option<String>,
        first_failure: Option<StackEvent>,
    },
    /// The stack no longer exists (after a delete).
    Gone,
}

impl Outcome {
    /// The message a user needs when an operation failed.
    pub fn failure_message(&self, stack_name: &str) -> Option<String> {
        match self {
            Outcome::Failed { status, stack_reason, first_failure } => {
                let mut message = format!("stack {stack_name} ended in {status}");
                if let Some(e) = first_failure {
                    message.push_str(&format!(
                        "\nfirst failure: {} ({}) {}: {}",
                        e.logical_id,
                        e.resource_type,
                        e.status,
                        e.reason.as_deref().unwrap_or("no reason given")
                    ));
                } else if let Some(reason) = stack_reason {
                    message.push_str(&format!(": {reason}"));
                }
                Some(message)
            }
            _ => None,
        }
    }
}

fn is_terminal(status: &StackStatus) -> bool {
    let s = status.as_str();
    !s.ends_with("_IN_PROGRESS") || s == "REVIEW_IN_PROGRESS"
}

fn is_success(status: &StackStatus) -> bool {
    matches!(
        status,
        StackStatus::CreateComplete
            | StackStatus::UpdateComplete
            | StackStatus::ImportComplete
            | StackStatus::DeleteComplete
    )
}

pub struct EventWatcher<'a> {
    cf: &'a aws_sdk_cloudformation::Client,
    stack_id: String,
    seen: HashSet<String>,
    /// Every event of this operation, oldest first.
    pub events: Vec<StackEvent>,
    pub poll: Duration,
}

impl<'a> EventWatcher<'a> {
    /// Remembers the events that exist now, so only this operation's are shown.
    pub async fn start(cf: &'a aws_sdk_cloudformation::Client, stack_id: &str) -> anyhow::Result<Self> {
        let mut watcher = Self {
            cf,
            stack_id: stack_id.to_owned(),
            seen: HashSet::new(),
            events: Vec::new(),
            poll: Duration::from_secs(5),
        };
        watcher.seen = watcher.fetch_page_ids().await?;
        Ok(watcher)
    }

    async fn fetch_page_ids(&self) -> anyhow::Result<HashSet<String>> {
        match self.cf.describe_stack_events().stack_name(&self.stack_id).send().await {
            Ok(page) => Ok(page.stack_events().iter().filter_map(|e| e.event_id().map(str::to_owned)).collect()),
            Err(e) if stack::is_missing(&e) => Ok(HashSet::new()),
            Err(e) => anyhow::bail!("reading events of {}: {}", self.stack_id, describe(&e)),
        }
    }

    /// Events not shown yet, oldest first (CloudFormation lists newest first;
    /// paging stops at the first one already seen).
    async fn new_events(&mut self) -> anyhow::Result<Vec<StackEvent>> {
        let mut fresh = Vec::new();
        let mut token = None;
        'pages: loop {
            let page =
                match self.cf.describe_stack_events().stack_name(&self.stack_id).set_next_token(token).send().await {
                    Ok(page) => page,
                    Err(e) if stack::is_missing(&e) => break,
                    Err(e) => anyhow::bail!("reading events of {}: {}", self.stack_id, describe(&e)),
                };
            for event in page.stack_events() {
                let event = StackEvent::from(event);
                if !self.seen.insert(event.id.clone()) {
                    break 'pages;
                }
                fresh.push(event);
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        fresh.reverse();
        Ok(fresh)
    }

    async fn stack_status(&self) -> anyhow::Result<Option<(StackStatus, Option<String>)>> {
        match self.cf.describe_stacks().stack_name(&self.stack_id).send().await {
            Ok(out) => Ok(out
                .stacks()
                .first()
                .and_then(|s| s.stack_status().map(|st| (st.clone(), s.stack_status_reason().map(str::to_owned))))),
            Err(e) if stack::is_missing(&e) => Ok(None),
            Err(e) => anyhow::bail!("reading the status of {}: {}", self.stack_id, describe(&e)),
        }
    }

    /// Prints events as they arrive until the stack reaches a final state.
    pub async fn follow(&mut self, stack_name: &str, resources: u64) -> anyhow::Result<Outcome> {
        let bar = ProgressBar::new(resources.max(1));
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} resources  {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        let mut done = HashSet::new();
        let outcome = loop {
            for event in self.new_events().await? {
                bar.suspend(|| println!("{event}"));
                let resource_done = event.status.ends_with("_COMPLETE") || event.status.ends_with("_FAILED");
                if resource_done && event.logical_id != stack_name && done.insert(event.logical_id.clone()) {
                    bar.inc(1);
                }
                bar.set_message(format!("{} {}", event.logical_id, event.status));
                self.events.push(event);
            }
            match self.stack_status().await? {
                None => break Outcome::Gone,
                Some((status, reason)) if is_terminal(&status) => {
                    // Events written in the same instant as the final status.
                    for event in self.new_events().await? {
                        bar.suspend(|| println!("{event}"));
                        self.events.push(event);
                    }
                    break if is_success(&status) {
                        Outcome::Succeeded { status: status.as_str().to_owned() }
                    } else {
                        Outcome::Failed {
                            status: status.as_str().to_owned(),
                            stack_reason: reason,
                            first_failure: first_failure(&self.events, stack_name).cloned(),
                        }
                    };
                }
                Some(_) => tokio::time::sleep(self.poll).await,
            }
        };
        bar.finish_and_clear();
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(logical_id: &str, status: &str, reason: Option<&str>) -> StackEvent {
        StackEvent {
            id: format!("{logical_id}-{status}"),
            time: String::new(),
            logical_id: logical_id.into(),
            resource_type: "AWS::X::Y".into(),
            status: status.into(),
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn the_first_real_failure_wins_over_cancellations_and_the_stack_itself() {
        let events = vec![
            event("stack", "CREATE_IN_PROGRESS", Some("User Initiated")),
            event("Stream", "CREATE_IN_PROGRESS", None),
            event("Cluster", "CREATE_FAILED", Some("Resource creation cancelled")),
            event("Topic", "CREATE_FAILED", Some("Received response status [FAILED]: broker unreachable")),
            event("Later", "CREATE_FAILED", Some("something else")),
            event("stack", "ROLLBACK_IN_PROGRESS", Some("The following resource(s) failed to create: [Topic]")),
        ];
        let first = first_failure(&events, "stack").expect("a failure");
        assert_eq!(first.logical_id, "Topic");
        let outcome = Outcome::Failed {
            status: "ROLLBACK_COMPLETE".into(),
            stack_reason: None,
            first_failure: Some(first.clone()),
        };
        let message = outcome.failure_message("stack").expect("message");
        assert!(
            message.contains("Topic (AWS::X::Y) CREATE_FAILED: Received response status [FAILED]: broker unreachable")
        );
    }

    #[test]
    fn only_cancellations_still_name_a_resource() {
        let events = vec![event("A", "UPDATE_FAILED", Some("Resource update cancelled"))];
        assert_eq!(first_failure(&events, "stack").map(|e| e.logical_id.as_str()), Some("A"));
        assert_eq!(first_failure(&[], "stack"), None);
    }
}
