//! `infra`: deploy and operate the pipeline in an AWS account.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use infra::template::{self, settings::Settings};

#[derive(Parser)]
#[command(
    about = "Deploy tool for the Kinesis -> MSK -> Lambda pipeline",
    long_about = "Deploy tool for the Kinesis -> MSK -> Lambda pipeline.\n\n`infra template` renders the CloudFormation template: a VPC over two zones with one NAT gateway, a KMS-encrypted Kinesis stream, an MSK cluster with IAM auth and TLS, the Camel aws-kinesis-source connector on MSK Connect, the producer on an EventBridge schedule and the consumer behind an MSK event source mapping. MSK brokers, the connector's MCU, the NAT gateway and the mapping's provisioned pollers bill by the hour whether or not rides flow: destroy the stack when you are done."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render the CloudFormation template (JSON) to stdout or --out.
    Template {
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// MSK brokers (a multiple of the 2 availability zones).
        #[arg(long, default_value_t = 2)]
        brokers: u32,
        /// Replicas per partition (at most --brokers).
        #[arg(long, default_value_t = 2)]
        replication_factor: u32,
        /// Partitions of the topic.
        #[arg(long, default_value_t = 4)]
        partitions: u32,
        /// Topic the connector writes and the consumer reads.
        #[arg(long, default_value = "carrides")]
        topic: String,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Template { out, brokers, replication_factor, partitions, topic } => {
            let settings =
                Settings { broker_count: brokers, replication_factor, partitions, topic, ..Settings::default() };
            let json = template::render(&settings)?.to_json();
            match out {
                Some(path) => {
                    std::fs::write(&path, json).map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?
                }
                None => print!("{json}"),
            }
        }
    }
    Ok(())
}
