//! What can go wrong before a request leaves the function.

#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpsError {
    #[error(
        "no CA certificates to verify AWS endpoints with ({0}): the system bundle is missing; set SSL_CERT_FILE to a PEM bundle"
    )]
    NoRoots(String),
    #[error("TLS configuration: {0}")]
    Tls(String),
    #[error("connecting took longer than {0:?} (TCP and TLS handshake)")]
    ConnectTimeout(std::time::Duration),
    #[error(
        "plain http:// is allowed to loopback only (a local emulator), not to {0:?}: use https:// (check the AWS_ENDPOINT_URL_* variables)"
    )]
    PlainHttpOffLoopback(String),
    #[error("no response headers within {0:?}")]
    ReadTimeout(std::time::Duration),
}
