//! The functions' HTTPS client against a loopback TLS server whose
//! certificate a test CA signed: an AWS SDK call (DynamoDB `ListTables`)
//! gets through when the client trusts that CA, over HTTP/1.1 even though
//! the server offers `h2`; it is refused when the client trusts another CA
//! or the system bundle, or when the certificate names another host; a
//! server that never finishes the handshake or never answers is a timeout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::retry::RetryConfig;
use bytes::Bytes;
use http_body_util::Full;
use lambda_init::https::{HttpsClient, Trust};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::RootCertStore;
use tokio::net::TcpListener;

/// A CA and a server certificate it signed for `names`.
struct TestPki {
    ca: CertificateDer<'static>,
    leaf: CertificateDer<'static>,
    leaf_key: PrivatePkcs8KeyDer<'static>,
}

fn pki(names: &[&str]) -> TestPki {
    pki_with_ca("sdk-https test CA", names)
}

fn pki_with_ca(ca_name: &str, names: &[&str]) -> TestPki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.distinguished_name.push(DnType::CommonName, ca_name);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key")).expect("CA");
    let leaf_key = KeyPair::generate().expect("server key");
    let names: Vec<String> = names.iter().map(ToString::to_string).collect();
    let leaf = CertificateParams::new(names).expect("server params").signed_by(&leaf_key, &ca).expect("server cert");
    TestPki {
        ca: ca.der().clone(),
        leaf: leaf.der().clone(),
        leaf_key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
    }
}

fn trusting(ca: &CertificateDer<'static>) -> HttpsClient {
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).expect("test CA");
    HttpsClient::with_trust(Trust::Roots(Arc::new(roots)))
}

#[derive(Clone, Copy)]
enum Behaviour {
    /// Answer `ListTables` as DynamoDB does.
    Answer,
    /// Complete the handshake, read the request, never answer.
    Silent,
    /// Accept TCP, never start TLS.
    NoHandshake,
}

/// What the server saw of each connection: the ALPN protocol agreed and the
/// HTTP version of each request.
#[derive(Default)]
struct Seen {
    alpn: Vec<Option<Vec<u8>>>,
    versions: Vec<http::Version>,
}

async fn tls_server(pki: &TestPki, behaviour: Behaviour) -> (u16, Arc<Mutex<Seen>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![pki.leaf.clone()], PrivateKeyDer::Pkcs8(pki.leaf_key.clone_key()))
        .expect("server config");
    // Offered so that a client asking for HTTP/2 would get it.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let server_seen = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            let seen = server_seen.clone();
            tokio::spawn(async move {
                if let Behaviour::NoHandshake = behaviour {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    drop(tcp);
                    return;
                }
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                seen.lock().expect("seen").alpn.push(tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec));
                let service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    async move {
                        seen.lock().expect("seen").versions.push(request.version());
                        if let Behaviour::Silent = behaviour {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                        }
                        http::Response::builder()
                            .header("content-type", "application/x-amz-json-1.0")
                            .body(Full::new(Bytes::from_static(br#"{"TableNames":["rides"]}"#)))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (port, seen)
}

fn dynamodb(client: HttpsClient, endpoint: String) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .http_client(client)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

async fn list_tables(client: HttpsClient, port: u16) -> Result<Vec<String>, String> {
    dynamodb(client, format!("https://localhost:{port}"))
        .list_tables()
        .send()
        .await
        .map(|out| out.table_names().to_vec())
        .map_err(|e| format!("{}", DisplayErrorContext(&e)))
}

#[tokio::test]
async fn an_sdk_call_gets_through_to_a_server_the_trusted_ca_signed_over_http1() {
    let pki = pki(&["localhost"]);
    let (port, seen) = tls_server(&pki, Behaviour::Answer).await;
    let tables = list_tables(trusting(&pki.ca), port).await.expect("ListTables over TLS");
    assert_eq!(tables, ["rides"]);
    let seen = seen.lock().expect("seen");
    assert_eq!(seen.alpn, [None], "the client must not offer h2 (nor need ALPN at all)");
    assert_eq!(seen.versions, [http::Version::HTTP_11]);
}

#[tokio::test]
async fn a_server_signed_by_another_ca_is_refused() {
    let pki = pki(&["localhost"]);
    let other = pki_ca_only();
    let (port, seen) = tls_server(&pki, Behaviour::Answer).await;
    let reason = list_tables(trusting(&other), port).await.expect_err("unknown CA");
    println!("{reason}");
    assert!(reason.contains("UnknownIssuer"), "{reason}");
    assert!(seen.lock().expect("seen").versions.is_empty(), "no request may reach an untrusted server");
}

#[tokio::test]
async fn the_system_bundle_does_not_trust_a_test_ca() {
    let pki = pki(&["localhost"]);
    let (port, _) = tls_server(&pki, Behaviour::Answer).await;
    let reason = list_tables(HttpsClient::new(), port).await.expect_err("test CA is not a public CA");
    assert!(reason.contains("UnknownIssuer"), "{reason}");
}

#[tokio::test]
async fn a_certificate_for_another_host_is_refused() {
    let pki = pki(&["kinesis.eu-west-1.amazonaws.com"]);
    let (port, _) = tls_server(&pki, Behaviour::Answer).await;
    let reason = list_tables(trusting(&pki.ca), port).await.expect_err("wrong host name");
    println!("{reason}");
    assert!(reason.contains("NotValidForName"), "{reason}");
}

#[tokio::test]
async fn a_handshake_that_never_ends_is_a_connect_timeout() {
    let pki = pki(&["localhost"]);
    let (port, _) = tls_server(&pki, Behaviour::NoHandshake).await;
    let connector = trusting(&pki.ca).connector(Duration::from_millis(300), Duration::from_secs(5));
    let error = connector.call(get_root(port)).await.expect_err("no handshake");
    assert!(error.is_timeout(), "{}", DisplayErrorContext(&error));
    assert!(format!("{}", DisplayErrorContext(&error)).contains("TCP and TLS handshake"));
}

#[tokio::test]
async fn an_answer_that_never_comes_is_a_read_timeout() {
    let pki = pki(&["localhost"]);
    let (port, seen) = tls_server(&pki, Behaviour::Silent).await;
    let connector = trusting(&pki.ca).connector(Duration::from_secs(5), Duration::from_millis(300));
    let error = connector.call(get_root(port)).await.expect_err("no answer");
    assert!(error.is_timeout(), "{}", DisplayErrorContext(&error));
    assert_eq!(seen.lock().expect("seen").versions.len(), 1, "the request was sent");
}

/// `GET https://localhost:<port>/`, for the connector itself.
fn get_root(port: u16) -> HttpRequest {
    let request = http::Request::get(format!("https://localhost:{port}/")).body(SdkBody::empty()).expect("request");
    HttpRequest::try_from(request).expect("request")
}

/// Another CA, of another name, that signed nothing the server holds.
fn pki_ca_only() -> CertificateDer<'static> {
    pki_with_ca("another test CA", &["localhost"]).ca
}
