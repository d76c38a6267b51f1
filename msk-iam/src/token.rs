//! The MSK IAM token librdkafka sends as its OAUTHBEARER token: a SigV4
//! presigned `GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster:Connect`
//! (service `kafka-cluster`, 900 s), base64url without padding, as AWS's
//! `aws-msk-iam-sasl-signer` builds it. That crate is not linked: it forces
//! the SDK's default HTTPS client (HTTP/2, AWS-LC) and reloads the whole AWS
//! configuration for every token; here the credentials come from the
//! function's one configuration, and a test holds the token to the crate's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings};
use aws_sigv4::sign::v4;
use base64::Engine;

/// How long a token is valid (the signer's and MSK's default).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);
const USER_AGENT: &str = concat!("kinesis-msk-lambda/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no AWS credentials for the MSK IAM token: {0}")]
    Credentials(String),
    #[error("signing the MSK IAM token: {0}")]
    Signing(String),
}

/// A token for `region` signed with the current credentials, and when it
/// expires (ms since the epoch), as librdkafka's token setter takes them.
pub async fn auth_token(region: &str, credentials: &SharedCredentialsProvider) -> Result<(String, i64), TokenError> {
    let credentials = credentials.provide_credentials().await.map_err(|e| TokenError::Credentials(e.to_string()))?;
    token_at(region, credentials, SystemTime::now())
}

/// The token signed at `now` (whole seconds, as SigV4 dates are).
pub fn token_at(
    region: &str,
    credentials: aws_credential_types::Credentials,
    now: SystemTime,
) -> Result<(String, i64), TokenError> {
    let signing = |e: &dyn std::fmt::Display| TokenError::Signing(e.to_string());
    let url = format!("https://kafka.{region}.amazonaws.com/?Action=kafka-cluster%3AConnect");
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("kafka-cluster")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| signing(&e))?;
    let signable =
        SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[])).map_err(|e| signing(&e))?;
    let (instructions, _) = sign(signable, &params.into()).map_err(|e| signing(&e))?.into_parts();
    let mut request = http::Request::get(&url).body(()).map_err(|e| signing(&e))?;
    instructions.apply_to_request_http1x(&mut request);
    let signed = format!("{}&User-Agent={}", request.uri(), USER_AGENT.replace('/', "%2F"));
    let signed_at = now.duration_since(UNIX_EPOCH).map_err(|e| signing(&e))?.as_secs();
    let expires_ms = i64::try_from((signed_at + TOKEN_LIFETIME.as_secs()) * 1000).map_err(|e| signing(&e))?;
    Ok((base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signed), expires_ms))
}

#[cfg(test)]
mod tests {
    use aws_credential_types::Credentials;
    use base64::Engine;

    use super::*;

    fn decoded(token: &str) -> String {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).expect("base64url");
        String::from_utf8(bytes).expect("a URL")
    }

    /// The URL without its trailing `User-Agent` (each signer names itself).
    fn signed_part(url: &str) -> &str {
        url.split("&User-Agent=").next().unwrap_or(url)
    }

    fn param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
        url.split(['?', '&']).find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    }

    /// The same credentials signed in the same second give AWS's signer's
    /// URL byte for byte (session token included), so MSK takes our token
    /// as it takes theirs.
    #[tokio::test]
    async fn the_token_is_the_one_aws_msk_iam_sasl_signer_builds() {
        let credentials =
            Credentials::new("AKIDEXAMPLE", "secret/with+chars", Some("session+token/=".into()), None, "test");
        let provider = SharedCredentialsProvider::new(credentials.clone());
        for _ in 0..3 {
            let (theirs, their_expiry) = aws_msk_iam_sasl_signer::generate_auth_token_from_credentials_provider(
                aws_config::Region::new("eu-west-1"),
                provider.clone(),
            )
            .await
            .expect("AWS's signer");
            let (ours, our_expiry) = token_at("eu-west-1", credentials.clone(), SystemTime::now()).expect("ours");
            let (theirs, ours) = (decoded(&theirs), decoded(&ours));
            if param(&theirs, "X-Amz-Date") != param(&ours, "X-Amz-Date") {
                continue; // a second boundary fell between the two
            }
            assert_eq!(signed_part(&ours), signed_part(&theirs));
            assert_eq!(our_expiry, their_expiry);
            assert!(ours.starts_with("https://kafka.eu-west-1.amazonaws.com/?Action=kafka-cluster%3AConnect&"));
            assert_eq!(param(&ours, "X-Amz-Expires"), Some("900"));
            assert_eq!(param(&ours, "User-Agent"), Some(USER_AGENT.replace('/', "%2F").as_str()));
            return;
        }
        panic!("three second boundaries in a row");
    }

    #[tokio::test]
    async fn missing_credentials_are_named() {
        #[derive(Debug)]
        struct NoCredentials;
        impl ProvideCredentials for NoCredentials {
            fn provide_credentials<'a>(&'a self) -> aws_credential_types::provider::future::ProvideCredentials<'a>
            where
                Self: 'a,
            {
                aws_credential_types::provider::future::ProvideCredentials::ready(Err(
                    aws_credential_types::provider::error::CredentialsError::not_loaded("nothing in the environment"),
                ))
            }
        }
        let provider = SharedCredentialsProvider::new(NoCredentials);
        let error = auth_token("eu-west-1", &provider).await.expect_err("no credentials");
        assert!(error.to_string().contains("no AWS credentials"), "{error}");
    }
}
