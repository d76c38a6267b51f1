//! What the deploy-flow tests share: moto on loopback with the environment a
//! user's shell would carry (pointed at moto), the reduced template moto can
//! deploy, and fixture artifacts.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const REGION: &str = "eu-west-1";

/// Resource types moto's CloudFormation cannot create (or, for the VPC, cannot
/// delete: it ignores dependency order); the tests drop them and everything
/// that refers to them (the real template is proven by cfn-lint and checkov).
const NOT_IN_MOTO: [&str; 7] = [
    "AWS::EC2::VPC",
    "AWS::MSK::Cluster",
    "AWS::MSK::Configuration",
    "AWS::KafkaConnect::Connector",
    "AWS::KafkaConnect::CustomPlugin",
    "Custom::KafkaTopic",
    "AWS::EC2::SecurityGroupEgress",
];

fn mentions(value: &Value, ids: &BTreeSet<String>) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(k, v)| {
            (k == "Ref" && v.as_str().is_some_and(|s| ids.contains(s)))
                || (k == "Fn::GetAtt" && v.get(0).and_then(Value::as_str).is_some_and(|s| ids.contains(s)))
                || (k == "DependsOn" && mentions_name(v, ids))
                || mentions(v, ids)
        }),
        Value::Array(items) => items.iter().any(|v| mentions(v, ids)),
        Value::String(s) => ids.iter().any(|id| s.contains(&format!("${{{id}}}")) || s.contains(&format!("${{{id}."))),
        _ => false,
    }
}

fn mentions_name(value: &Value, ids: &BTreeSet<String>) -> bool {
    match value {
        Value::String(s) => ids.contains(s),
        Value::Array(items) => items.iter().any(|v| mentions_name(v, ids)),
        _ => false,
    }
}

/// The rendered template without what moto cannot create, transitively.
pub fn moto_deployable(template: &str) -> String {
    let mut t: Value = serde_json::from_str(template).expect("template json");
    let resources = t["Resources"].as_object_mut().expect("resources");
    let mut removed: BTreeSet<String> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str().is_some_and(|ty| NOT_IN_MOTO.contains(&ty)))
        .map(|(id, _)| id.clone())
        .collect();
    loop {
        let more: Vec<String> = resources
            .iter()
            .filter(|(id, r)| !removed.contains(*id) && mentions(r, &removed))
            .map(|(id, _)| id.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        removed.extend(more);
    }
    resources.retain(|id, _| !removed.contains(id));
    if let Some(outputs) = t["Outputs"].as_object_mut() {
        outputs.retain(|_, o| !mentions(o, &removed));
    }
    serde_json::to_string_pretty(&t).expect("serialise")
}

/// cargo-lambda's layout: `<dir>/<function>/bootstrap.zip`, one small
/// distinct executable per function.
pub fn lambda_zips(dir: &Path, version: &str) {
    for function in infra::package::lambdas::FUNCTIONS {
        let folder = dir.join(function);
        std::fs::create_dir_all(&folder).expect("mkdir");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(folder.join("bootstrap.zip")).expect("create zip"));
        let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        zip.start_file("bootstrap", options).expect("zip entry");
        writeln!(zip, "#!/bin/sh\necho {function} {version}").expect("zip write");
        zip.finish().expect("zip finish");
    }
}

/// A Kafka Connect package archive shaped like Camel's: a directory of jars.
pub fn plugin_archive(path: &Path) -> String {
    let file = std::fs::File::create(path).expect("create archive");
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(file, flate2::Compression::default()));
    for (name, content) in [
        ("camel-aws-kinesis-source-kafka-connector/camel-aws-kinesis-source-kafka-connector-4.18.0.jar", "connector"),
        ("camel-aws-kinesis-source-kafka-connector/camel-aws2-kinesis-4.18.0.jar", "component"),
        ("camel-aws-kinesis-source-kafka-connector/LICENSE.txt", "Apache-2.0"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, content.as_bytes()).expect("tar entry");
    }
    tar.into_inner().expect("tar").finish().expect("gzip");
    connector_plugin::sha256_hex(&std::fs::read(path).expect("read archive"))
}

/// The `infra` binary as a user runs it, with AWS pointed at `endpoint`.
pub struct Infra {
    pub endpoint: String,
    pub cwd: PathBuf,
}

impl Infra {
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_infra"));
        command
            .args(args)
            .current_dir(&self.cwd)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env_remove("AWS_PROFILE")
            .env_remove("STACK_NAME")
            .env("INFRA_LOG", "warn")
            .stdin(std::process::Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run infra")
    }
}

pub fn text(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}
