#!/usr/bin/env bash
# tansu, the Kafka-compatible broker the local stack can run instead of
# librdkafka's mock cluster (real CreateTopics, sqlite storage that survives a
# restart). From the crate registry; its build takes ~45 minutes on 2 cores,
# so it goes once into a cache outside the clone and is reused from there.
# Prints the binary's path; `--path` only prints where it would be.
set -euo pipefail
version=0.6.0
cache="${KML_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kinesis-msk-lambda}"
root="$cache/tansu-$version"
bin="$root/bin/tansu"
if [ "${1:-}" = "--path" ]; then echo "$bin"; exit 0; fi
if [ ! -x "$bin" ]; then
  echo "building tansu $version into $root (once; ~45 min on 2 cores)" >&2
  CARGO_TARGET_DIR="$cache/tansu-build" nice -n 10 cargo install tansu --version "$version" --locked \
    --features dynostore,libsql --root "$root" >&2
  rm -rf "$cache/tansu-build"
fi
echo "$bin"
