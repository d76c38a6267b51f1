//! The forwarder's settings, read once at cold start from the environment so
//! a misconfigured function fails at init with what to set.

use std::time::Duration;

use lambda_init::env::InvalidSetting;

/// How the producer authenticates to the brokers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// MSK IAM over TLS (port 9098): the template's.
    Iam,
    /// No authentication: a local broker.
    Plaintext,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `KAFKA_BOOTSTRAP_SERVERS`: the cluster's IAM bootstrap brokers.
    pub bootstrap_servers: String,
    /// `KAFKA_TOPIC`.
    pub topic: String,
    /// `KAFKA_AUTH`: `iam` (default) or `plaintext`.
    pub auth: AuthMode,
    /// `KAFKA_CA_LOCATION`: librdkafka's `ssl.ca.location` (default `probe`:
    /// the system's CA bundle).
    pub ca_location: String,
    /// `KAFKA_LINGER_MS`: how long the producer gathers records per request.
    pub linger: Duration,
    /// `DEADLINE_MARGIN_MS`: kept back from Lambda's deadline to answer.
    pub deadline_margin: Duration,
    /// `MAX_ACK_WAIT_MS`: the longest an invocation waits for Kafka's
    /// acknowledgements, whatever the deadline: a broker away for longer is
    /// answered as batch item failures and retried by the mapping.
    pub max_ack_wait: Duration,
}

pub const DEFAULT_LINGER_MS: u32 = 5;
pub const DEFAULT_DEADLINE_MARGIN_MS: u32 = 1_000;
pub const DEFAULT_MAX_ACK_WAIT_MS: u32 = 30_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set: {1}")]
    Missing(&'static str, &'static str),
    #[error(transparent)]
    Invalid(#[from] InvalidSetting),
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` so tests need not touch the process env.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let non_empty = |name: &str| lambda_init::env::set(&lookup, name);
        let bootstrap_servers = non_empty("KAFKA_BOOTSTRAP_SERVERS").ok_or(ConfigError::Missing(
            "KAFKA_BOOTSTRAP_SERVERS",
            "the brokers' host:port list (the template sets the cluster's IAM brokers; `make local-up BRIDGE=lambda` the local broker)",
        ))?;
        let topic =
            non_empty("KAFKA_TOPIC").ok_or(ConfigError::Missing("KAFKA_TOPIC", "the topic to write, e.g. carrides"))?;
        let auth = match non_empty("KAFKA_AUTH").as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("iam") => AuthMode::Iam,
            Some("plaintext") => AuthMode::Plaintext,
            Some(other) => {
                return Err(InvalidSetting::new(
                    "KAFKA_AUTH",
                    other,
                    "use iam (MSK IAM over TLS) or plaintext (a local broker)",
                )
                .into())
            }
        };
        let ca_location = non_empty("KAFKA_CA_LOCATION").unwrap_or_else(|| "probe".to_owned());
        let linger = lambda_init::env::number(&lookup, "KAFKA_LINGER_MS", DEFAULT_LINGER_MS, 0..=1_000)?;
        let margin = lambda_init::env::number(&lookup, "DEADLINE_MARGIN_MS", DEFAULT_DEADLINE_MARGIN_MS, 0..=60_000)?;
        let max_ack_wait =
            lambda_init::env::number(&lookup, "MAX_ACK_WAIT_MS", DEFAULT_MAX_ACK_WAIT_MS, 100..=900_000)?;
        Ok(Self {
            bootstrap_servers,
            topic,
            auth,
            ca_location,
            linger: Duration::from_millis(u64::from(linger)),
            deadline_margin: Duration::from_millis(u64::from(margin)),
            max_ack_wait: Duration::from_millis(u64::from(max_ack_wait)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(lambda_init::env::from_pairs(vars))
    }

    #[test]
    fn brokers_and_topic_are_required_and_iam_is_the_default() {
        let missing = config(&[("KAFKA_TOPIC", "carrides")]).expect_err("no brokers");
        assert!(missing.to_string().contains("KAFKA_BOOTSTRAP_SERVERS"), "{missing}");
        let missing = config(&[("KAFKA_BOOTSTRAP_SERVERS", "b-1:9098")]).expect_err("no topic");
        assert!(missing.to_string().contains("KAFKA_TOPIC"), "{missing}");
        let c = config(&[("KAFKA_BOOTSTRAP_SERVERS", "b-1:9098"), ("KAFKA_TOPIC", "carrides")]).expect("config");
        assert_eq!((c.auth, c.ca_location.as_str()), (AuthMode::Iam, "probe"));
        assert_eq!(c.linger, Duration::from_millis(5));
    }

    #[test]
    fn wrong_values_are_named() {
        let base = [("KAFKA_BOOTSTRAP_SERVERS", "b-1:9098"), ("KAFKA_TOPIC", "carrides")];
        let with = |extra: (&'static str, &'static str)| {
            let mut vars = base.to_vec();
            vars.push(extra);
            config(&vars)
        };
        assert_eq!(with(("KAFKA_AUTH", "Plaintext")).expect("plaintext").auth, AuthMode::Plaintext);
        let e = with(("KAFKA_AUTH", "scram")).expect_err("unknown");
        assert!(e.to_string().contains("KAFKA_AUTH=\"scram\""), "{e}");
        let e = with(("KAFKA_LINGER_MS", "5000")).expect_err("too long");
        assert!(e.to_string().contains("expected 0 to 1000"), "{e}");
    }
}
