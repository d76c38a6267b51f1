#!/usr/bin/env bash
# Debian packages the build and the local stack need, installed when missing
# and we are root (otherwise: what to run):
# - cmake, a C++ compiler, perl and libcurl's headers: librdkafka and OpenSSL
#   are built from source by the rdkafka crate;
# - Java 17 (with keytool) and Maven: the local Apache Kafka broker, resolved
#   from Maven Central (tools/kafka/pom.xml);
# - python3-venv: cargo-lambda, moto, cfn-lint and checkov live in .tools/venv;
# - with --cross: qemu-user and the aarch64 cross compilers (make test-aarch64).
set -euo pipefail
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v c++ >/dev/null || missing+=(g++)
command -v perl >/dev/null || missing+=(perl)
# librdkafka includes <curl/curl.h> even with curl off (tools/cross/include/curl/curl.h says why).
[ -e /usr/include/x86_64-linux-gnu/curl/curl.h ] || [ -e /usr/include/curl/curl.h ] || [ -e /usr/include/aarch64-linux-gnu/curl/curl.h ] || missing+=(libcurl4-openssl-dev)
java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
if [ -z "$java_major" ] || [ "$java_major" -lt 17 ] || ! command -v keytool >/dev/null; then
  missing+=(openjdk-17-jdk-headless)
fi
command -v mvn >/dev/null || missing+=(maven)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
# --cross: what `make test-aarch64` needs to build for aarch64 and run there.
if [ "${1:-}" = "--cross" ]; then
  command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
  command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
  command -v aarch64-linux-gnu-g++ >/dev/null || missing+=(g++-aarch64-linux-gnu)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "missing system packages: ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
