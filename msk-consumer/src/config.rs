//! The consumer's settings from the environment, checked at cold start: a
//! function that could not quarantine poison records must not start at all.

use std::path::PathBuf;

use lambda_init::env::{bounded, flag, InvalidSetting};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadLetterTarget {
    S3 { bucket: String, prefix: String },
    Dir(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub dead_letters: DeadLetterTarget,
    /// Larger decoded values are quarantined as `oversized`.
    pub max_record_bytes: usize,
    /// Must match the mapping's `FunctionResponseTypes: [ReportBatchItemFailures]`.
    pub partial_batch_response: bool,
    /// The DynamoDB table every valid ride is stored in (`RIDES_TABLE`,
    /// required); `None` only when storing was turned off explicitly
    /// (`STORE_RIDES=false`: benches and hand invokes), which every batch
    /// summary then says ([`STORAGE_OFF`]).
    pub rides_table: Option<String>,
    /// How long a stored ride is kept (`RIDE_TTL_DAYS`): redelivery is
    /// harmless only while its item exists.
    pub ride_ttl_days: u32,
    /// The function's configured timeout (`FUNCTION_TIMEOUT_SECONDS`), used
    /// only when the runtime's deadline is unusable: `cargo lambda watch`
    /// sends every invocation `lambda-runtime-deadline-ms: 600000`, ten
    /// minutes after the epoch (cargo-lambda, `functions_router.rs`). Lambda
    /// itself always sends a real deadline. Unset: [`crate::DEFAULT_STORE_WINDOW`].
    pub timeout_seconds: Option<u32>,
}

pub const DEFAULT_MAX_RECORD_BYTES: usize = 1024 * 1024;
pub const DEFAULT_DEAD_LETTER_PREFIX: &str = "dead-letters/";

/// What a batch summary's `storage` says when rides are not stored.
pub const STORAGE_OFF: &str = "off (STORE_RIDES=false): rides are checked and counted, not stored";
/// What a batch summary's `storage` says when rides are stored.
pub const STORAGE_TABLE: &str = "rides table";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("no dead-letter sink configured: set DEAD_LETTER_BUCKET (S3, in AWS) or DEAD_LETTER_DIR (a local directory); poison records are never dropped")]
    MissingDeadLetterSink,
    #[error("RIDES_TABLE is not set: the consumer stores every ride there and will not acknowledge rides it did not store; to only check and count them (a bench, a hand invoke), set STORE_RIDES=false")]
    MissingRidesTable,
    #[error(transparent)]
    Invalid(#[from] InvalidSetting),
}

impl Config {
    /// The defaults with a directory sink: what the local stack, tests and
    /// benchmarks start from.
    pub fn with_dead_letter_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            dead_letters: DeadLetterTarget::Dir(dir.into()),
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            partial_batch_response: false,
            rides_table: None,
            ride_ttl_days: pipeline_settings::rides_table::DEFAULT_TTL_DAYS,
            timeout_seconds: None,
        }
    }

    /// How long an invocation may store for when the runtime's deadline is
    /// unusable: the configured timeout less the margin to answer, else
    /// [`crate::DEFAULT_STORE_WINDOW`].
    pub fn no_deadline_window(&self) -> std::time::Duration {
        self.timeout_seconds.map_or(crate::DEFAULT_STORE_WINDOW, |s| {
            std::time::Duration::from_secs(u64::from(s)).saturating_sub(crate::DEADLINE_MARGIN)
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| lambda_init::env::set(&lookup, name);
        let dead_letters = match (set("DEAD_LETTER_BUCKET"), set("DEAD_LETTER_DIR")) {
            (Some(bucket), _) => {
                let mut prefix = set("DEAD_LETTER_PREFIX").unwrap_or_else(|| DEFAULT_DEAD_LETTER_PREFIX.to_owned());
                if !prefix.ends_with('/') {
                    prefix.push('/');
                }
                DeadLetterTarget::S3 { bucket, prefix }
            }
            (None, Some(dir)) => DeadLetterTarget::Dir(PathBuf::from(dir)),
            (None, None) => return Err(ConfigError::MissingDeadLetterSink),
        };
        let max_record_bytes =
            bounded(&lookup, "MAX_RECORD_BYTES", 1..=usize::MAX, "expected a positive whole number of bytes")?
                .unwrap_or(DEFAULT_MAX_RECORD_BYTES);
        let partial_batch_response = flag(&lookup, "PARTIAL_BATCH_RESPONSE", false)?;
        let ride_ttl_days = bounded(
            &lookup,
            "RIDE_TTL_DAYS",
            1..=3650,
            "expected whole days from 1 to 3650; keep it longer than the stream's and the topic's retention",
        )?
        .unwrap_or(pipeline_settings::rides_table::DEFAULT_TTL_DAYS);
        let rides_table = match (set("RIDES_TABLE"), flag(&lookup, "STORE_RIDES", true)?) {
            (Some(table), true) => Some(table),
            (None, true) => return Err(ConfigError::MissingRidesTable),
            (_, false) => None,
        };
        let timeout_seconds = bounded(
            &lookup,
            "FUNCTION_TIMEOUT_SECONDS",
            2..=900,
            "expected the function's timeout in whole seconds, 2 to 900 (Lambda's maximum)",
        )?;
        Ok(Self { dead_letters, max_record_bytes, partial_batch_response, rides_table, ride_ttl_days, timeout_seconds })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(lambda_init::env::from_pairs(vars))
    }

    #[test]
    fn a_bucket_gets_the_default_prefix_and_defaults() {
        let c = config(&[("DEAD_LETTER_BUCKET", "dlq"), ("RIDES_TABLE", "rides")]).expect("config");
        assert_eq!(c.dead_letters, DeadLetterTarget::S3 { bucket: "dlq".into(), prefix: "dead-letters/".into() });
        assert_eq!((c.max_record_bytes, c.partial_batch_response), (DEFAULT_MAX_RECORD_BYTES, false));
        let c = config(&[("DEAD_LETTER_BUCKET", "dlq"), ("DEAD_LETTER_PREFIX", "poison"), ("STORE_RIDES", "false")])
            .expect("config");
        assert_eq!(c.dead_letters, DeadLetterTarget::S3 { bucket: "dlq".into(), prefix: "poison/".into() });
    }

    #[test]
    fn no_sink_or_bad_values_fail_with_the_fix() {
        assert_eq!(config(&[]), Err(ConfigError::MissingDeadLetterSink));
        let e = config(&[("DEAD_LETTER_DIR", "/tmp/x"), ("MAX_RECORD_BYTES", "0")]).expect_err("zero");
        assert!(e.to_string().contains("MAX_RECORD_BYTES=\"0\""), "{e}");
        let e = config(&[("DEAD_LETTER_DIR", "/tmp/x"), ("PARTIAL_BATCH_RESPONSE", "yes")]).expect_err("yes");
        assert!(e.to_string().contains("expected true or false"), "{e}");
        let c = config(&[("DEAD_LETTER_DIR", "/tmp/x"), ("PARTIAL_BATCH_RESPONSE", "TRUE"), ("RIDES_TABLE", "r")])
            .expect("true");
        assert!(c.partial_batch_response);
        let e = config(&[("DEAD_LETTER_DIR", "/tmp/x"), ("RIDE_TTL_DAYS", "0")]).expect_err("zero days");
        assert!(e.to_string().contains("RIDE_TTL_DAYS=\"0\""), "{e}");
        let c =
            config(&[("DEAD_LETTER_DIR", "/tmp/x"), ("RIDES_TABLE", "rides"), ("RIDE_TTL_DAYS", "8")]).expect("ttl");
        assert_eq!((c.rides_table.as_deref(), c.ride_ttl_days), (Some("rides"), 8));
    }

    #[test]
    fn the_rides_table_is_required_unless_storing_is_turned_off_by_name() {
        let e = config(&[("DEAD_LETTER_DIR", "/tmp/x")]).expect_err("no table");
        assert_eq!(e, ConfigError::MissingRidesTable);
        assert!(e.to_string().contains("STORE_RIDES=false"), "the error names the opt-out: {e}");
        let off = config(&[("DEAD_LETTER_DIR", "/tmp/x"), ("STORE_RIDES", "false")]).expect("opted out");
        assert_eq!(off.rides_table, None);
        let e = config(&[("DEAD_LETTER_DIR", "/tmp/x"), ("STORE_RIDES", "nope")]).expect_err("not a flag");
        assert!(e.to_string().contains("STORE_RIDES"), "{e}");
    }

    #[test]
    fn without_a_usable_deadline_the_configured_timeout_less_the_margin_bounds_an_invocation() {
        let base = [("DEAD_LETTER_DIR", "/tmp/x"), ("STORE_RIDES", "false")];
        let unset = config(&base).expect("unset");
        assert_eq!(unset.no_deadline_window(), crate::DEFAULT_STORE_WINDOW);
        let set = config(&[base[0], base[1], ("FUNCTION_TIMEOUT_SECONDS", "120")]).expect("120 s");
        assert_eq!(set.no_deadline_window(), std::time::Duration::from_secs(120) - crate::DEADLINE_MARGIN);
        let e = config(&[base[0], base[1], ("FUNCTION_TIMEOUT_SECONDS", "901")]).expect_err("past Lambda's 900 s");
        assert!(e.to_string().contains("FUNCTION_TIMEOUT_SECONDS=\"901\""), "{e}");
    }
}
