//! The SDK configuration every function loads at init: region and
//! credentials from Lambda's environment (the default chain, whose first
//! provider reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//! `AWS_SESSION_TOKEN`, which Lambda sets), and [`HttpsClient`] for every
//! call, the credential providers' own included.

use aws_config::{BehaviorVersion, SdkConfig};

use crate::https::HttpsClient;

pub async fn load_from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).http_client(HttpsClient::new()).load().await
}
