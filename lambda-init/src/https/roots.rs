//! Which certificate authorities the functions trust: the system's bundle
//! (on Lambda's `provided.al2023`, `/etc/pki/tls/certs/ca-bundle.crt`), or
//! a store given by a test. `SSL_CERT_FILE` names another bundle, and
//! `SSL_CERT_DIR` alone a directory, read as the SDK's default client reads
//! the system's certificates (`rustls-native-certs`). That crate also reads
//! every file of the certificate directory, the bundle's certificates again
//! among them: 2.1-3.5 ms here against 0.4-0.5 ms for the bundle file alone
//! (145 certificates), paid on each function's first request.

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

/// The distributions' bundle files, the first found is read: Amazon Linux
/// 2023 (Lambda), then Debian and Ubuntu, then Alpine and the BSDs.
const BUNDLES: [&str; 3] =
    ["/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/cert.pem"];

fn system_roots() -> Result<RootCertStore, HttpsError> {
    if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
        return bundle_roots(std::path::Path::new(&file));
    }
    if std::env::var_os("SSL_CERT_DIR").is_some() {
        return native_roots();
    }
    match BUNDLES.iter().map(std::path::Path::new).find(|p| p.is_file()) {
        Some(bundle) => bundle_roots(bundle),
        None => native_roots(),
    }
}

/// The authorities in one PEM bundle.
pub fn bundle_roots(path: &std::path::Path) -> Result<RootCertStore, HttpsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let pem = std::fs::read(path).map_err(|e| HttpsError::NoRoots(format!("{}: {e}", path.display())))?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok));
    if added == 0 {
        return Err(HttpsError::NoRoots(format!("{}: no certificate in it", path.display())));
    }
    Ok(roots)
}

fn native_roots() -> Result<RootCertStore, HttpsError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_gives_its_authorities_and_an_empty_one_is_named() {
        let scratch = tempfile::tempdir().expect("dir");
        let dir = scratch.path();
        let ca = rcgen::generate_simple_self_signed(vec!["test CA".into()]).expect("CA");
        let bundle = dir.join("bundle.pem");
        std::fs::write(&bundle, format!("junk before\n{}\n", ca.cert.pem())).expect("write");
        assert_eq!(bundle_roots(&bundle).expect("one root").len(), 1);
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no certificates here").expect("write");
        let error = bundle_roots(&empty).expect_err("empty").to_string();
        assert!(error.contains("empty.pem: no certificate in it") && error.contains("SSL_CERT_FILE"), "{error}");
        let error = bundle_roots(&dir.join("missing.pem")).expect_err("missing").to_string();
        assert!(error.contains("missing.pem"), "{error}");
    }

    #[test]
    fn this_machine_has_a_system_bundle() {
        let roots = Trust::System.roots().expect("the system's CA bundle");
        assert!(roots.len() > 50, "{} roots", roots.len());
    }
}
