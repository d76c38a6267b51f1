//! Plain HTTP and connection reuse in the functions' HTTPS client, through a
//! real SDK client (DynamoDB `ListTables`):
//! - `http://` reaches loopback only: a mistyped `AWS_ENDPOINT_URL_*` naming
//!   another host is refused before any connection is made;
//! - after a transient failure (a 500) the SDK poisons the connection it
//!   came on and its retry opens a fresh one, as with the SDK's own client.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_types::error::display::DisplayErrorContext;
use bytes::Bytes;
use http_body_util::Full;
use lambda_init::https::HttpsClient;
use tokio::net::TcpListener;

fn dynamodb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(endpoint)
        .http_client(HttpsClient::new())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

#[tokio::test]
async fn plain_http_to_any_host_but_loopback_is_refused_before_connecting() {
    for endpoint in ["http://10.255.255.1", "http://dynamodb.eu-west-1.amazonaws.com", "http://[2001:db8::1]:8000"] {
        let error = dynamodb(endpoint).list_tables().send().await.expect_err("refused");
        let message = DisplayErrorContext(&error).to_string();
        assert!(message.contains("loopback only"), "{endpoint}: {message}");
    }
}

/// A loopback server (kept alive between requests) that answers the first
/// request with a 500 and every later one with a table list; counts the
/// connections it accepted.
async fn flaky_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::Relaxed);
            let requests = requests.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_request: http::Request<hyper::body::Incoming>| {
                    let first = requests.fetch_add(1, Ordering::Relaxed) == 0;
                    async move {
                        let (status, body) =
                            if first { (500, &b"{}"[..]) } else { (200, &br#"{"TableNames":["rides"]}"#[..]) };
                        http::Response::builder()
                            .status(status)
                            .header("content-type", "application/x-amz-json-1.0")
                            .body(Full::new(Bytes::from_static(body)))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    (endpoint, connections)
}

#[tokio::test]
async fn a_retry_after_a_transient_failure_goes_out_on_a_fresh_connection() {
    let (endpoint, connections) = flaky_server().await;
    let tables = dynamodb(&endpoint).list_tables().send().await.expect("retried past the 500");
    assert_eq!(tables.table_names(), ["rides"]);
    assert_eq!(
        connections.load(Ordering::Relaxed),
        2,
        "the connection that carried the 500 was poisoned, so the retry opened another"
    );
}
