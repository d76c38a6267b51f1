//! MSK IAM access control for the functions' librdkafka clients (the topic
//! creator's admin client, the forwarder's producer): one token signer
//! ([`token`]), one set of client settings ([`Auth::configure`]) and a
//! client context that signs a fresh token whenever librdkafka asks for one
//! ([`IamContext`]).
//!
//! librdkafka offers OAUTHBEARER only when built with OpenSSL, so the
//! workspace builds `rdkafka` with `ssl-vendored`. A vendored OpenSSL looks
//! for CA certificates under its own build prefix, which Lambda's image does
//! not have: `ssl.ca.location=probe` makes librdkafka search the usual system
//! bundle paths (AL2023's `/etc/pki/tls/certs/ca-bundle.crt` among them).

pub mod token;

use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::producer::ProducerContext;
use rdkafka::ClientConfig;

pub use token::{auth_token, token_at, TokenError, TOKEN_LIFETIME};

/// How a client authenticates to the brokers.
#[derive(Debug, Clone)]
pub enum Auth {
    /// MSK with IAM access control, in `region`, tokens signed with
    /// `credentials`. `ca_location` is librdkafka's `ssl.ca.location`
    /// (`probe`: the system's bundle).
    Iam { region: String, ca_location: String, credentials: SharedCredentialsProvider },
    /// A local broker without authentication.
    Plaintext,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("AWS_REGION is not set: the MSK IAM token is signed for the cluster's region")]
    NoRegion,
    #[error("no AWS credentials provider: the MSK IAM token is signed with the function's credentials")]
    NoCredentials,
}

impl Auth {
    /// MSK's IAM listener in the configuration's region, with its
    /// credentials, trusting the system's CA bundle.
    pub fn iam(aws: &aws_config::SdkConfig) -> Result<Self, AuthError> {
        let region = aws.region().ok_or(AuthError::NoRegion)?.to_string();
        let credentials = aws.credentials_provider().ok_or(AuthError::NoCredentials)?;
        Ok(Auth::Iam { region, ca_location: "probe".into(), credentials })
    }

    /// Sets the security settings of this authentication on `config`.
    pub fn configure(&self, config: &mut ClientConfig) {
        if let Auth::Iam { ca_location, .. } = self {
            config
                .set("security.protocol", "SASL_SSL")
                .set("sasl.mechanism", "OAUTHBEARER")
                .set("ssl.ca.location", ca_location);
        }
    }

    /// A context for a client with this authentication.
    pub fn context(&self) -> IamContext {
        IamContext { auth: self.clone() }
    }
}

/// A client context whose OAUTHBEARER token-refresh callback signs an MSK
/// IAM token (librdkafka asks at connect time and again at 80 % of the
/// token's life), and whose librdkafka logs and errors go to `tracing`.
/// The callback runs on the client's polling thread (a producer's or a
/// consumer's; rust-rdkafka's admin client serves no main queue, so the topic
/// creator sets its token itself), never on an async runtime's thread, so
/// waiting for the credentials there blocks nothing else.
#[derive(Debug, Clone)]
pub struct IamContext {
    auth: Auth,
}

impl ClientContext for IamContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(&self, _config: Option<&str>) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        let Auth::Iam { region, credentials, .. } = &self.auth else {
            return Err("an OAUTHBEARER token was asked for a client without IAM authentication".into());
        };
        // Lambda's credentials come from its environment: the future is ready at once.
        let credentials = futures::executor::block_on(credentials.provide_credentials())
            .map_err(|e| TokenError::Credentials(e.to_string()))?;
        let (token, expires_ms) = token_at(region, credentials, SystemTime::now())?;
        Ok(OAuthToken { token, principal_name: "msk-iam".into(), lifetime_ms: expires_ms })
    }

    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", facility, "{message}")
            }
            RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", facility, "{message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", facility, "{message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(target: "librdkafka", %error, "{reason}");
    }
}

impl ProducerContext for IamContext {
    type DeliveryOpaque = ();

    fn delivery(&self, _result: &rdkafka::message::DeliveryResult<'_>, _opaque: ()) {}
}

#[cfg(test)]
mod tests {
    use aws_credential_types::Credentials;

    use super::*;

    #[test]
    fn iam_sets_sasl_ssl_and_oauthbearer_and_plaintext_sets_nothing() {
        let credentials = SharedCredentialsProvider::new(Credentials::new("AKID", "secret", None, None, "test"));
        let iam = Auth::Iam { region: "eu-west-1".into(), ca_location: "probe".into(), credentials };
        let mut config = ClientConfig::new();
        iam.configure(&mut config);
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(config.get("sasl.mechanism"), Some("OAUTHBEARER"));
        assert_eq!(config.get("ssl.ca.location"), Some("probe"));
        let mut plain = ClientConfig::new();
        Auth::Plaintext.configure(&mut plain);
        assert_eq!(plain.get("security.protocol"), None);
    }

    #[test]
    fn the_context_signs_a_token_for_the_region_and_refuses_without_iam() {
        let credentials = SharedCredentialsProvider::new(Credentials::new("AKID", "secret", None, None, "test"));
        let iam = Auth::Iam { region: "eu-west-1".into(), ca_location: "probe".into(), credentials };
        let token = iam.context().generate_oauth_token(None).expect("a token");
        let url = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &token.token)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .expect("base64url");
        assert!(url.starts_with("https://kafka.eu-west-1.amazonaws.com/?Action=kafka-cluster%3AConnect&"), "{url}");
        let now_ms = SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        assert!(token.lifetime_ms > now_ms + 800_000 && token.lifetime_ms <= now_ms + 901_000);
        assert!(Auth::Plaintext.context().generate_oauth_token(None).is_err());
    }
}
