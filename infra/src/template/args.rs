//! The render-time choices (`infra template`, `infra deploy`): what shapes the
//! template itself rather than a parameter's value.

use std::path::PathBuf;

use super::settings::Settings;

#[derive(Debug, Clone, clap::Args)]
pub struct TemplateArgs {
    /// MSK brokers (a multiple of the 2 availability zones).
    #[arg(long, default_value_t = 2)]
    pub brokers: u32,
    /// Replicas per partition (at most --brokers).
    #[arg(long, default_value_t = 2)]
    pub replication_factor: u32,
    /// Partitions of the topic.
    #[arg(long, default_value_t = 4)]
    pub partitions: u32,
    /// Topic the connector writes and the consumer reads.
    #[arg(long, default_value = "carrides")]
    pub topic: String,
    /// Size the brokers' storage for this many Kinesis shards writing at
    /// their limit for Kafka's whole 7-day retention (keep it at or above
    /// the ShardCount you deploy).
    #[arg(long, default_value_t = super::settings::DEFAULT_SHARDS)]
    pub storage_for_shards: u32,
}

impl TemplateArgs {
    pub fn settings(&self) -> Settings {
        Settings {
            broker_count: self.brokers,
            replication_factor: self.replication_factor,
            partitions: self.partitions,
            topic: self.topic.clone(),
            storage_sized_for_shards: self.storage_for_shards,
            ..Settings::default()
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Write here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}
