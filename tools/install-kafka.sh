#!/usr/bin/env bash
# Apache Kafka (broker, KRaft) for the local stack and the tests: its jars,
# resolved from Maven Central by tools/kafka/pom.xml, copied once into a
# cache outside the clone (Maven's own ~/.m2 cache makes a re-install quick).
# Needs Java 17 and Maven. Prints the libs directory; `--path` only prints
# where it would be.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")
cache="${KML_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kinesis-msk-lambda}"
libs="$cache/kafka-$version/libs"
if [ "${1:-}" = "--path" ]; then echo "$libs"; exit 0; fi
if [ ! -f "$libs/.installed" ]; then
  command -v java >/dev/null || { echo "Java 17 is required for the local Kafka broker: apt-get install openjdk-17-jre-headless" >&2; exit 1; }
  command -v mvn >/dev/null || { echo "Maven is required to fetch Apache Kafka from Maven Central: apt-get install maven" >&2; exit 1; }
  echo "fetching Apache Kafka $version from Maven Central into $libs (once)" >&2
  rm -rf "$libs"
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  touch "$libs/.installed"
fi
echo "$libs"
