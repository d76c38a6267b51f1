//! `infra logs`: the producer's, consumer's and connector's CloudWatch log
//! groups merged in time order and pretty-printed, optionally followed: how a
//! user watches the pipeline without the console.

pub mod format;

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::aws::{describe, Clients};
use crate::names::{Function, StackName};

#[derive(Debug, Clone, clap::Args)]
pub struct LogsArgs {
    /// Keep printing new events (Ctrl-C stops).
    #[arg(long, short)]
    pub follow: bool,
    /// How far back to start, e.g. 10m, 2h, 1d.
    #[arg(long, default_value = "10m")]
    pub since: humantime::Duration,
    /// CloudWatch Logs filter pattern, e.g. ERROR or '{ $.level = "WARN" }'.
    #[arg(long)]
    pub filter: Option<String>,
    /// Only these (repeatable); default: producer, msk-consumer and connector.
    #[arg(long = "function", value_enum)]
    pub functions: Vec<Function>,
    /// Print the raw messages instead of pretty-printing JSON.
    #[arg(long)]
    pub raw: bool,
    /// Seconds between polls with --follow.
    #[arg(long, default_value_t = 2, hide = true)]
    pub poll_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub timestamp_ms: i64,
    pub source: &'static str,
    pub id: String,
    pub message: String,
}

fn source_name(function: Function) -> &'static str {
    match function {
        Function::Producer => "producer",
        Function::MskConsumer => "consumer",
        Function::TopicCreator => "topic",
        Function::Connector => "connector",
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

fn format_time(ms: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(time).to_string()
}

struct Group {
    function: Function,
    name: String,
    missing_reported: bool,
}

async fn fetch(
    clients: &Clients,
    group: &mut Group,
    start_ms: i64,
    filter: Option<&str>,
) -> anyhow::Result<Vec<LogLine>> {
    let mut lines = Vec::new();
    let mut token = None;
    loop {
        let result = clients
            .logs
            .filter_log_events()
            .log_group_name(&group.name)
            .start_time(start_ms)
            .set_filter_pattern(filter.map(str::to_owned))
            .set_next_token(token)
            .send()
            .await;
        let page = match result {
            Ok(page) => page,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {
                if !group.missing_reported {
                    eprintln!("note: log group {} does not exist (yet): is the stack deployed?", group.name);
                    group.missing_reported = true;
                }
                return Ok(lines);
            }
            Err(e) => anyhow::bail!("reading {}: {}", group.name, describe(&e)),
        };
        for event in page.events() {
            lines.push(LogLine {
                timestamp_ms: event.timestamp().unwrap_or_default(),
                source: source_name(group.function),
                id: event.event_id().unwrap_or_default().to_owned(),
                message: event.message().unwrap_or_default().to_owned(),
            });
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(lines);
        }
    }
}

pub async fn logs(clients: &Clients, stack: &StackName, args: &LogsArgs) -> anyhow::Result<()> {
    let functions = if args.functions.is_empty() {
        vec![Function::Producer, Function::MskConsumer, Function::Connector]
    } else {
        args.functions.clone()
    };
    let mut groups: Vec<Group> =
        functions.iter().map(|f| Group { function: *f, name: stack.log_group(*f), missing_reported: false }).collect();
    let mut start_ms = now_ms() - args.since.as_millis() as i64;
    // Events at the last timestamp seen, which the next poll asks for again.
    let mut printed_at_start: HashSet<String> = HashSet::new();
    loop {
        let mut lines = Vec::new();
        for group in &mut groups {
            lines.extend(fetch(clients, group, start_ms, args.filter.as_deref()).await?);
        }
        lines.sort_by(|a, b| a.timestamp_ms.cmp(&b.timestamp_ms).then_with(|| a.id.cmp(&b.id)));
        lines.retain(|l| !printed_at_start.contains(&l.id));
        for line in &lines {
            let message = if args.raw { line.message.trim_end().to_owned() } else { format::pretty(&line.message) };
            println!("{} {:<9} {message}", format_time(line.timestamp_ms), line.source);
        }
        if !args.follow {
            return Ok(());
        }
        if let Some(last) = lines.last().map(|l| l.timestamp_ms) {
            if last > start_ms {
                printed_at_start.clear();
            }
            start_ms = last;
            printed_at_start.extend(lines.iter().filter(|l| l.timestamp_ms == last).map(|l| l.id.clone()));
        }
        use std::io::Write;
        std::io::stdout().flush()?;
        tokio::time::sleep(Duration::from_secs(args.poll_seconds.max(1))).await;
    }
}
