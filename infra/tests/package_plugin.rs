//! `infra package` fetching the Camel plugin by its coordinates from Maven
//! repositories (loopback ones here): a repository without it is skipped for
//! the next (`MAVEN_EXTRA_REPOSITORIES`), the published SHA-1 guards the
//! transfer, the first download writes a SHA-256 pin naming the repository,
//! later runs use the cache and hold it to that pin, and a corrupted archive
//! is refused with the reason, before anything is uploaded.

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use local::moto::Moto;
use sha1::Digest;
use support::{lambda_zips, plugin_archive, text, Infra};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A minimal HTTP/1.1 server answering GET paths from `files`, 404 otherwise.
async fn maven_repository(files: HashMap<String, Vec<u8>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let files = Arc::new(files);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let files = files.clone();
            tokio::spawn(async move {
                let mut request = vec![0u8; 8192];
                let n = stream.read(&mut request).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&request[..n]).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (status, body) = match files.get(&path) {
                    Some(body) => ("200 OK", body.clone()),
                    None => ("404 Not Found", b"not found".to_vec()),
                };
                let header =
                    format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = stream.write_all(header.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    format!("http://{addr}/maven2")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plugin_is_downloaded_once_pinned_and_held_to_its_pin() {
    let moto = Moto::start().expect("moto (run `make tools`)");
    let work = tempfile::tempdir().expect("tempdir");
    let archive = work.path().join("fixture.tar.gz");
    let digest = plugin_archive(&archive);
    let bytes = std::fs::read(&archive).expect("archive");
    let url_path = format!("/maven2/{}", pipeline_settings::connector::PLUGIN.path());
    let sha1 = hex::encode(sha1::Sha1::digest(&bytes));
    let repository = maven_repository(HashMap::from([
        (url_path.clone(), bytes.clone()),
        (
            format!("{url_path}.sha1"),
            format!("{sha1}  {}\n", pipeline_settings::connector::PLUGIN.file_name()).into_bytes(),
        ),
    ]))
    .await;
    let lambdas = work.path().join("lambda");
    lambda_zips(&lambdas, "v1");
    let infra = Infra { endpoint: moto.endpoint(), cwd: work.path().to_path_buf() };
    let cache = work.path().join("cache");
    // Maven Central (here: a loopback repository without the plugin) first, then the extra one.
    let central = maven_repository(HashMap::new()).await;
    let package = |repo: &str| {
        let mut command = infra.command(&[
            "package",
            "--stack-name",
            "pkg",
            "--skip-build",
            "--lambda-dir",
            lambdas.to_str().expect("utf-8"),
            "--plugin-repository",
            &central,
            "--extra-repositories",
            repo,
        ]);
        command.env("XDG_CACHE_HOME", &cache);
        command.output().expect("run infra package")
    };

    let first = package(&repository);
    let (out, err) = text(&first);
    assert!(first.status.success(), "package failed:\n{out}\n{err}");
    assert!(err.contains(&format!("pinned the plugin archive's SHA-256 {digest} from {repository}")), "{err}");
    let pin = std::fs::read_to_string(work.path().join("infra/camel-plugin.sha256")).expect("pin written");
    let line = format!("{digest}  {}  {repository}", pipeline_settings::connector::PLUGIN);
    assert!(pin.lines().any(|l| l == line), "the pin names its repository:\n{pin}");
    assert!(out.contains("ConnectorPluginKey=plugins/camel-aws-kinesis-source-4.18.0-"), "{out}");

    // Second run: from the cache (the repository is gone), checked against the pin.
    let second = package("http://127.0.0.1:1/unreachable");
    let (out, err) = text(&second);
    assert!(second.status.success(), "cached package failed:\n{out}\n{err}");
    assert_eq!(err.matches("unchanged").count(), 5, "{err}");

    // A cached archive that no longer matches the pin is refused, and says why.
    let cached = cache.join("kinesis-msk-lambda/camel").join(pipeline_settings::connector::PLUGIN.file_name());
    let mut tampered = bytes.clone();
    tampered[20] ^= 0xff;
    std::fs::write(&cached, &tampered).expect("tamper");
    let third = package(&repository);
    let (_, err) = text(&third);
    assert!(!third.status.success());
    assert!(err.contains(&format!("expected {digest}")) && err.contains("a different or corrupted file"), "{err}");

    // A transfer that does not match the repository's SHA-1 is refused too.
    std::fs::remove_file(&cached).expect("clear cache");
    let _ = std::fs::remove_file(
        cache
            .join("kinesis-msk-lambda/camel")
            .join(format!("{}.origin", pipeline_settings::connector::PLUGIN.file_name())),
    );
    let corrupt = maven_repository(HashMap::from([
        (url_path.clone(), tampered),
        (format!("{url_path}.sha1"), sha1.into_bytes()),
    ]))
    .await;
    let fourth = package(&corrupt);
    let (_, err) = text(&fourth);
    assert!(!fourth.status.success());
    assert!(err.contains("does not match the published"), "{err}");
}
