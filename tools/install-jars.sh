#!/usr/bin/env bash
# Apache Kafka's jars for the local stack and the tests, resolved from Maven
# Central by tools/<name>/pom.xml and copied once into a cache outside the
# clone (Maven's own ~/.m2 cache makes a re-install quick):
#   kafka    the broker (KRaft), tools/kafka/pom.xml
#   connect  the Kafka Connect worker, tools/connect/pom.xml
# Needs Java 17 and Maven. Prints the libs directory; `--path` only prints
# where it would be.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
name="${1:?usage: install-jars.sh kafka|connect [--path]}"
pom="$here/$name/pom.xml"
[ -f "$pom" ] || { echo "no $pom" >&2; exit 1; }
version=$(sed -n 's:.*<[a-z]*\.version>\(.*\)</[a-z]*\.version>.*:\1:p' "$pom" | head -n 1)
cache="${KML_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kinesis-msk-lambda}"
libs="$cache/$name-$version/libs"
if [ "${2:-}" = "--path" ]; then echo "$libs"; exit 0; fi
if [ ! -f "$libs/.installed" ]; then
  command -v java >/dev/null || { echo "Java 17 is required for the local Kafka broker and Connect worker: apt-get install openjdk-17-jre-headless" >&2; exit 1; }
  command -v mvn >/dev/null || { echo "Maven is required to fetch Apache Kafka from Maven Central: apt-get install maven" >&2; exit 1; }
  echo "fetching $name $version from Maven Central into $libs (once)" >&2
  rm -rf "$libs"
  mvn -q -B -f "$pom" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  touch "$libs/.installed"
fi
echo "$libs"
