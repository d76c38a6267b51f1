//! The producer's settings, read once at cold start from the environment so a
//! misconfigured function fails at init with a message that says what to set.

use std::time::Duration;

use lambda_init::env::InvalidSetting;

/// Which stream to write: by ARN when given (cross-account safe), else by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamTarget {
    Name(String),
    Arn(String),
}

impl std::fmt::Display for StreamTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamTarget::Name(n) => write!(f, "stream '{n}'"),
            StreamTarget::Arn(a) => write!(f, "stream {a}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub stream: StreamTarget,
    /// Rides emitted per scheduled invocation.
    pub rides_per_schedule: u32,
    /// Upper bound on rides a single invocation may be asked for.
    pub max_rides_per_invoke: u32,
    /// `PutRecords` calls in flight at once.
    pub max_in_flight: usize,
    /// Time kept back from the Lambda deadline to log and return a report.
    pub deadline_margin: Duration,
}

pub const DEFAULT_RIDES_PER_SCHEDULE: u32 = 100;
pub const DEFAULT_MAX_RIDES_PER_INVOKE: u32 = 100_000;
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4;
pub const DEFAULT_DEADLINE_MARGIN_MS: u64 = 1_500;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "no stream configured: set STREAM_NAME (e.g. carrides) or STREAM_ARN; locally, `make demo` sets it for you"
    )]
    MissingStream,
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
        let stream = match (non_empty("STREAM_ARN"), non_empty("STREAM_NAME")) {
            (Some(arn), _) if !arn.starts_with("arn:") => {
                return Err(InvalidSetting::new("STREAM_ARN", arn, "an ARN starts with arn:").into())
            }
            (Some(arn), _) => StreamTarget::Arn(arn),
            (None, Some(name)) => StreamTarget::Name(name),
            (None, None) => return Err(ConfigError::MissingStream),
        };
        let max_rides_per_invoke =
            lambda_init::env::number(&lookup, "MAX_RIDES_PER_INVOKE", DEFAULT_MAX_RIDES_PER_INVOKE, 1..=1_000_000)?;
        let rides_per_schedule = lambda_init::env::number(
            &lookup,
            "RIDES_PER_SCHEDULE",
            DEFAULT_RIDES_PER_SCHEDULE,
            1..=max_rides_per_invoke,
        )?;
        let max_in_flight =
            lambda_init::env::number(&lookup, "MAX_IN_FLIGHT_BATCHES", DEFAULT_MAX_IN_FLIGHT as u32, 1..=64)? as usize;
        let margin =
            lambda_init::env::number(&lookup, "DEADLINE_MARGIN_MS", DEFAULT_DEADLINE_MARGIN_MS as u32, 0..=60_000)?;
        Ok(Self {
            stream,
            rides_per_schedule,
            max_rides_per_invoke,
            max_in_flight,
            deadline_margin: Duration::from_millis(u64::from(margin)),
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
    fn name_alone_uses_defaults() {
        let c = config(&[("STREAM_NAME", "carrides")]).expect("config");
        assert_eq!(c.stream, StreamTarget::Name("carrides".into()));
        assert_eq!((c.rides_per_schedule, c.max_in_flight), (DEFAULT_RIDES_PER_SCHEDULE, DEFAULT_MAX_IN_FLIGHT));
    }

    #[test]
    fn arn_wins_over_name() {
        let arn = "arn:aws:kinesis:us-east-1:123456789012:stream/carrides";
        let c = config(&[("STREAM_NAME", "x"), ("STREAM_ARN", arn)]).expect("config");
        assert_eq!(c.stream, StreamTarget::Arn(arn.into()));
    }

    #[test]
    fn errors_say_what_to_set() {
        assert_eq!(config(&[]), Err(ConfigError::MissingStream));
        assert!(ConfigError::MissingStream.to_string().contains("set STREAM_NAME"));
        let e = config(&[("STREAM_NAME", "s"), ("MAX_IN_FLIGHT_BATCHES", "0")]).expect_err("0");
        assert_eq!(e.to_string(), "MAX_IN_FLIGHT_BATCHES=\"0\" is not valid: expected 1 to 64");
        let e = config(&[("STREAM_NAME", "s"), ("RIDES_PER_SCHEDULE", "ten")]).expect_err("ten");
        assert!(e.to_string().contains("expected a whole number"));
        let e = config(&[("STREAM_ARN", "carrides")]).expect_err("not an arn");
        assert!(e.to_string().contains("an ARN starts with arn:"));
        let e = config(&[("STREAM_NAME", "s"), ("MAX_RIDES_PER_INVOKE", "10"), ("RIDES_PER_SCHEDULE", "11")])
            .expect_err("bound");
        assert!(e.to_string().contains("expected 1 to 10"));
    }
}
