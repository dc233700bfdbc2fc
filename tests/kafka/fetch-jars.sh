#!/usr/bin/env bash
# fetch-jars.sh: puts Apache Kafka's broker jars (tests/kafka/pom.xml) in a
# directory with Maven, once; prints that directory. A rerun finds them there
# (marker file .complete) and fetches nothing; Maven's ~/.m2 caches the download.
#   tests/kafka/fetch-jars.sh [DIR]
# DIR defaults to $ATC_IT_KAFKA_JARS, else $HOME/.cache/atc-fleet/kafka-<version>.
# Needs mvn and java (17 or newer).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pom="$here/pom.xml"
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom" | head -n 1)
[[ -n "$version" ]] || { echo "fetch-jars.sh: no <kafka.version> in $pom" >&2; exit 1; }
dir=${1:-${ATC_IT_KAFKA_JARS:-$HOME/.cache/atc-fleet/kafka-$version}}

# The marker holds the pom's checksum: a changed pom fetches again.
sum=$(sha256sum "$pom" | cut -d' ' -f1)
if [[ -f "$dir/.complete" && "$(cat "$dir/.complete")" == "$sum" ]]; then
    echo "$dir"
    exit 0
fi
command -v mvn >/dev/null || { echo "fetch-jars.sh: mvn is not installed (apt-get install maven)" >&2; exit 1; }
command -v java >/dev/null || { echo "fetch-jars.sh: java is not installed (17 or newer)" >&2; exit 1; }

# Two fetches running at once (parallel ctest, say) must not mix their files:
# each copies into its own directory, and the first complete one is moved in.
mkdir -p "$(dirname "$dir")"
work=$(mktemp -d "$dir.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
args=(-q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$work")
# Offline first: with everything in ~/.m2 already, no network is needed.
if ! mvn -o "${args[@]}" >"$work.mvn.log" 2>&1; then
    echo "fetch-jars.sh: fetching Kafka $version's jars with Maven into $dir" >&2
    if ! mvn "${args[@]}" >"$work.mvn.log" 2>&1; then
        cat "$work.mvn.log" >&2
        rm -f "$work.mvn.log"
        echo "fetch-jars.sh: mvn failed" >&2
        exit 1
    fi
fi
rm -f "$work.mvn.log"
ls "$work"/kafka_2.13-*.jar >/dev/null 2>&1 || { echo "fetch-jars.sh: no kafka_2.13 jar fetched" >&2; exit 1; }
echo "$sum" >"$work/.complete"
if [[ -f "$dir/.complete" && "$(cat "$dir/.complete")" == "$sum" ]]; then
    : # another fetch finished first
else
    rm -rf "$dir"
    mv "$work" "$dir" || { [[ -f "$dir/.complete" ]] || exit 1; }
fi
echo "$dir"
