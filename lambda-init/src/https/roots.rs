//! Which certificate authorities the functions trust: the system's bundle
//! (on Lambda's `provided.al2023`, `/etc/pki/tls/certs/ca-bundle.crt`; the
//! SDK's default client reads the same one, and `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` override it), or a store given by a test.

use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;

use crate::https::errors::HttpsError;

#[derive(Clone, Debug, Default)]
pub enum Trust {
    /// The system's CA bundle, read once per process on the first connection
    /// (not at init: a function that never calls AWS never reads it).
    #[default]
    System,
    /// Exactly these authorities (tests: a loopback server's own CA).
    Roots(Arc<RootCertStore>),
}

impl Trust {
    pub fn roots(&self) -> Result<Arc<RootCertStore>, HttpsError> {
        match self {
            Trust::Roots(roots) => Ok(roots.clone()),
            Trust::System => {
                static SYSTEM: OnceLock<Result<Arc<RootCertStore>, HttpsError>> = OnceLock::new();
                SYSTEM.get_or_init(|| system_roots().map(Arc::new)).clone()
            }
        }
    }

    /// A TLS configuration trusting these authorities, with `ring` as the
    /// only crypto provider; rustls verifies the chain and the host name.
    pub fn tls_config(&self) -> Result<rustls::ClientConfig, HttpsError> {
        let roots = self.roots()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HttpsError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(config)
    }
}

fn system_roots() -> Result<RootCertStore, HttpsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, unparsable) = roots.add_parsable_certificates(found.certs);
    if unparsable > 0 {
        tracing::debug!(unparsable, "certificates in the system bundle that rustls cannot use were skipped");
    }
    if added == 0 {
        let errors: Vec<String> = found.errors.iter().map(ToString::to_string).collect();
        return Err(HttpsError::NoRoots(if errors.is_empty() { "none found".into() } else { errors.join("; ") }));
    }
    Ok(roots)
}
