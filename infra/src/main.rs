//! `infra`: deploy and operate the pipeline in an AWS account.

use clap::{Parser, Subcommand};
use infra::aws::AwsArgs;
use infra::deploy::DeployArgs;
use infra::destroy::DestroyArgs;
use infra::invoke::InvokeArgs;
use infra::logs::LogsArgs;
use infra::names::{StackName, DEFAULT_STACK};
use infra::package::{PackageArgs, ZipsArgs};
use infra::template::args::RenderArgs;

#[derive(clap::Args)]
struct GuardArgs {
    /// The rendered template to check.
    #[arg(default_value = "infra/cloudformation/template.json")]
    template: std::path::PathBuf,
}

const LONG_ABOUT: &str = "\
Deploy tool for the Kinesis -> MSK -> Lambda pipeline.

A first deployment, from the repository root:
  infra deploy                 build the Lambdas (arm64), fetch the Camel plugin, upload both,
                               show the change set, ask, then follow the stack's events
  infra status                 stack outputs, the consumer's event source mapping, the
                               connector's state, the consumer group's offset lag
  infra logs --follow          producer, consumer and connector logs, pretty-printed
  infra invoke                 run the producer once with events/samples/producer-invoke.json
  infra destroy --purge        delete the stack and the artifacts bucket (asks first)

Credentials come from the default AWS chain (environment, ~/.aws, SSO, instance role);
--profile and --region choose. The stack is a VPC over two zones with one NAT gateway, a
KMS-encrypted Kinesis stream, an MSK cluster with IAM auth and TLS, the Camel
aws-kinesis-source connector on MSK Connect, the producer on an EventBridge schedule and the
consumer behind an MSK event source mapping.

Cost: MSK brokers, the connector's MCU, the NAT gateway and the mapping's provisioned pollers
bill by the hour whether or not rides flow (roughly USD 6-8 per day in us-east-1 with the
defaults); destroy the stack when you are done.";

#[derive(Parser)]
#[command(about = "Deploy tool for the Kinesis -> MSK -> Lambda pipeline", long_about = LONG_ABOUT)]
struct Cli {
    #[command(flatten)]
    aws: AwsArgs,
    /// The CloudFormation stack (also names the functions, log groups and artifacts bucket).
    #[arg(long, global = true, env = "STACK_NAME", default_value = DEFAULT_STACK)]
    stack_name: StackName,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render the CloudFormation template (JSON) to stdout or --out. Needs no AWS access.
    Template(RenderArgs),
    /// Check a rendered template against the deploy-readiness rules (infra/guard, cfn-guard).
    Guard(GuardArgs),
    /// Build the Lambdas, fetch the connector plugin, upload what changed to the artifacts bucket.
    Package(PackageArgs),
    /// Check the built function zips against their size budgets (`make build` runs it). Needs no AWS access.
    Zips(ZipsArgs),
    /// Package, then create or update the stack through a change set, following its events.
    Deploy(Box<DeployArgs>),
    /// Stack status and outputs, event source mapping, connector state, consumer lag.
    Status,
    /// Show (or --follow) the producer, consumer and connector logs.
    Logs(LogsArgs),
    /// Invoke a deployed function with a sample event.
    Invoke(InvokeArgs),
    /// Delete the stack (asks first unless --yes); --purge also removes the artifacts bucket.
    Destroy(DestroyArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("INFRA_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Command::Template(args) = &cli.command {
        let json = infra::template::render(&args.template.settings())?.to_json();
        match &args.out {
            Some(path) => std::fs::write(path, json).map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?,
            None => print!("{json}"),
        }
        return Ok(());
    }
    if let Command::Zips(args) = &cli.command {
        args.read_within_budget()?;
        return Ok(());
    }
    if let Command::Guard(args) = &cli.command {
        let (cfn_guard, rules) = infra::template::guard::repo_paths();
        let failures = infra::template::guard::validate(&cfn_guard, &rules, &args.template)?;
        for failure in &failures {
            eprintln!("{}: {}", failure.rule, failure.messages.join(" "));
        }
        anyhow::ensure!(
            failures.is_empty(),
            "{} deploy-readiness rule(s) fail on {}",
            failures.len(),
            args.template.display()
        );
        println!("{}: every deploy-readiness rule passes", args.template.display());
        return Ok(());
    }
    let clients = cli.aws.load().await?;
    let stack = &cli.stack_name;
    match &cli.command {
        Command::Template(_) | Command::Guard(_) | Command::Zips(_) => Ok(()),
        Command::Package(args) => {
            let artifacts = infra::package::package(&clients, stack, args).await?;
            for (key, value) in artifacts.parameters() {
                println!("{key}={value}");
            }
            Ok(())
        }
        Command::Deploy(args) => infra::deploy::deploy(&clients, stack, args).await,
        Command::Status => infra::status::status(&clients, stack).await,
        Command::Logs(args) => infra::logs::logs(&clients, stack, args).await,
        Command::Invoke(args) => infra::invoke::invoke(&clients, stack, args).await,
        Command::Destroy(args) => infra::destroy::destroy(&clients, stack, args).await,
    }
}
