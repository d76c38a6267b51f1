//! What `infra template` is asked for, checked before anything is rendered:
//! settings that CloudFormation could only reject halfway through a
//! deployment (or MSK never) are refused here with the fix.

/// Private subnets the brokers spread over; MSK wants the broker count to be
/// a multiple of it.
pub const AZ_COUNT: u32 = 2;

/// The stream's shards unless told otherwise (the `ShardCount` parameter's default).
pub const DEFAULT_SHARDS: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub broker_count: u32,
    pub replication_factor: u32,
    pub partitions: u32,
    pub topic: String,
    pub consumer_group_id: String,
    /// The brokers' storage holds this many shards writing flat out for the
    /// topic's whole retention (`kafka::broker_storage_gib`): the
    /// `ShardCount` default. Deploying more shards than this needs a
    /// re-render with a higher figure (`--storage-for-shards`).
    pub storage_sized_for_shards: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            broker_count: 2,
            replication_factor: 2,
            partitions: 4,
            topic: "carrides".into(),
            consumer_group_id: "carrides-msk-consumer".into(),
            storage_sized_for_shards: DEFAULT_SHARDS,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("replication factor {replication_factor} is above the broker count {broker_count}: MSK could never create the topic (the seed lab's default.replication.factor=3 on 2 brokers failed this way); use --replication-factor {broker_count} or --brokers {replication_factor_rounded}")]
    ReplicationAboveBrokers { replication_factor: u32, broker_count: u32, replication_factor_rounded: u32 },
    #[error("--brokers {0} is not a multiple of the {AZ_COUNT} availability zones the cluster spans; use an even number of brokers, at least 2")]
    BrokersNotPerZone(u32),
    #[error("--replication-factor must be at least 1")]
    ZeroReplication,
    #[error("--partitions must be 1 to 1000, got {0}")]
    Partitions(u32),
    #[error("{field} {value:?} must be 1 to 249 characters of [A-Za-z0-9._-]")]
    Name { field: &'static str, value: String },
}

impl Settings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.broker_count == 0 || !self.broker_count.is_multiple_of(AZ_COUNT) {
            return Err(SettingsError::BrokersNotPerZone(self.broker_count));
        }
        if self.replication_factor == 0 {
            return Err(SettingsError::ZeroReplication);
        }
        if self.replication_factor > self.broker_count {
            return Err(SettingsError::ReplicationAboveBrokers {
                replication_factor: self.replication_factor,
                broker_count: self.broker_count,
                replication_factor_rounded: self.replication_factor.next_multiple_of(AZ_COUNT),
            });
        }
        if !(1..=1000).contains(&self.partitions) {
            return Err(SettingsError::Partitions(self.partitions));
        }
        for (field, value) in [("topic", &self.topic), ("consumer group id", &self.consumer_group_id)] {
            let ok = !value.is_empty()
                && value.len() < 250
                && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !ok {
                return Err(SettingsError::Name { field, value: value.clone() });
            }
        }
        Ok(())
    }

    /// Writes survive one broker down only when fewer in-sync replicas than
    /// replicas are required.
    pub fn min_insync_replicas(&self) -> u32 {
        self.replication_factor.saturating_sub(1).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_replication_factor_is_refused_with_the_fix() {
        let seed = Settings { replication_factor: 3, ..Settings::default() };
        let err = seed.validate().expect_err("3 replicas on 2 brokers");
        assert_eq!(
            err.to_string(),
            "replication factor 3 is above the broker count 2: MSK could never create the topic (the seed lab's default.replication.factor=3 on 2 brokers failed this way); use --replication-factor 2 or --brokers 4"
        );
        assert_eq!(Settings { replication_factor: 3, broker_count: 4, ..Settings::default() }.validate(), Ok(()));
    }

    #[test]
    fn other_settings_are_checked() {
        assert_eq!(
            Settings { broker_count: 3, ..Settings::default() }.validate(),
            Err(SettingsError::BrokersNotPerZone(3))
        );
        assert_eq!(
            Settings { replication_factor: 0, ..Settings::default() }.validate(),
            Err(SettingsError::ZeroReplication)
        );
        assert_eq!(Settings { partitions: 0, ..Settings::default() }.validate(), Err(SettingsError::Partitions(0)));
        assert!(Settings { topic: "car rides".into(), ..Settings::default() }.validate().is_err());
    }

    #[test]
    fn min_insync_leaves_room_for_one_broker_down() {
        assert_eq!(Settings::default().min_insync_replicas(), 1);
        assert_eq!(Settings { replication_factor: 3, broker_count: 4, ..Settings::default() }.min_insync_replicas(), 2);
    }
}
