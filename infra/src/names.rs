//! Names every subcommand derives from the stack name, so `logs`, `status`
//! and `destroy` find what `deploy` made without asking the user again.

use thiserror::Error;

pub const DEFAULT_STACK: &str = "kinesis-msk-lambda";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackName(String);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("stack name {0:?} is not valid: use 1-25 characters, a letter first, then letters, digits and '-' (it also names the functions, log groups and the artifacts bucket)")]
pub struct InvalidStackName(pub String);

impl std::str::FromStr for StackName {
    type Err = InvalidStackName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // CloudFormation allows 128 characters, but the artifacts bucket
        // (`<stack>-artifacts-<account>-<region>`, 63 max, lowercase) and the
        // function names are derived from it.
        let valid = (1..=25).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !s.ends_with('-');
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidStackName(s.to_owned()))
        }
    }
}

impl std::fmt::Display for StackName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A function of the stack, as `logs --function` and `invoke` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Function {
    Producer,
    MskConsumer,
    TopicCreator,
    /// The Camel connector's worker logs (not a Lambda).
    Connector,
}

impl StackName {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Matches `FunctionName: ${AWS::StackName}-<name>` in the template.
    pub fn function_name(&self, function: Function) -> Option<String> {
        let suffix = match function {
            Function::Producer => "producer",
            Function::MskConsumer => "msk-consumer",
            Function::TopicCreator => "topic-creator",
            Function::Connector => return None,
        };
        Some(format!("{}-{suffix}", self.0))
    }

    /// Matches the log groups the template creates with a retention.
    pub fn log_group(&self, function: Function) -> String {
        match self.function_name(function) {
            Some(name) => format!("/aws/lambda/{name}"),
            None => format!("/{}/connector", self.0),
        }
    }

    /// Per account and region, so one name works everywhere and is unlikely
    /// to be taken (bucket names are global).
    pub fn artifacts_bucket(&self, account: &str, region: &str) -> String {
        format!("{}-artifacts-{account}-{region}", self.0.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names_that_would_break_derived_names_are_refused() {
        for bad in ["", "1abc", "with_underscore", "ends-", &"x".repeat(26)] {
            assert_eq!(bad.parse::<StackName>(), Err(InvalidStackName(bad.to_owned())), "{bad}");
        }
        let name: StackName = "Kml-1".parse().expect("valid");
        assert_eq!(name.function_name(Function::MskConsumer).as_deref(), Some("Kml-1-msk-consumer"));
        assert_eq!(name.log_group(Function::Connector), "/Kml-1/connector");
        let bucket = name.artifacts_bucket("123456789012", "eu-west-1");
        assert_eq!(bucket, "kml-1-artifacts-123456789012-eu-west-1");
        let longest: StackName = "a".repeat(25).parse().expect("valid");
        assert!(longest.artifacts_bucket("123456789012", "ap-southeast-2").len() <= 63);
        assert!(longest.function_name(Function::MskConsumer).expect("lambda").len() <= 64);
    }
}
