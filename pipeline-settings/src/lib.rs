//! The pipeline's deployed settings: one definition that `infra`'s template
//! renders and `local`'s stack runs, so what the tests prove is what AWS
//! gets. Plain data, no dependencies, no I/O.
//!
//! - [`connector`]: the Camel aws-kinesis-source connector (plugin
//!   coordinates, Kafka Connect line, properties, the loopback overrides).
//! - [`mapping`]: the consumer's MSK event source mapping and the forwarder's
//!   Kinesis event source mapping.
//! - [`topic`]: the Kafka topic both hops write.
//! - [`rides_table`]: the DynamoDB table the consumer stores each ride in.

pub mod connector;
pub mod mapping;
pub mod rides_table;
pub mod topic;
