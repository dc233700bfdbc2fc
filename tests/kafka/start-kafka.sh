#!/usr/bin/env bash
# start-kafka.sh: runs Apache Kafka as a single KRaft node (broker and
# controller in one JVM) on 127.0.0.1 for tests and development.
#   tests/kafka/start-kafka.sh [--port P] [--dir DIR] [--partitions N] [--topic NAME]... [--jars DIR]
# --port        the client port (default: a free one); the controller takes another
# --dir         config, logs and data (default: a new temporary directory); a DIR
#               already formatted by an earlier run is started again as it was
#               (same ports, same topics and records): that is how a test restarts it
# --partitions  partitions of atc.jobs and atc.jobs.dlq, and of topics auto-created
#               later (default 4)
# --topic       one more topic to create up front (atc.jobs and atc.jobs.dlq always are)
# --jars        the jars (default: tests/kafka/fetch-jars.sh's directory, fetched if need be)
# Once the broker serves metadata and the topics exist, the first stdout line is
# ATC_BROKERS=127.0.0.1:P. The process then is the JVM itself (exec): SIGTERM or
# SIGINT stops Kafka cleanly. Kafka's warnings go to stderr, its full log to DIR/logs/.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "start-kafka.sh: $*" >&2; exit 1; }
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

port="" dir="" partitions=4 jars=${ATC_IT_KAFKA_JARS:-}
topics=(atc.jobs atc.jobs.dlq)
while [[ $# -gt 0 ]]; do
    case $1 in
    --port) port=${2:?--port needs a value}; shift 2 ;;
    --dir) dir=${2:?--dir needs a value}; shift 2 ;;
    --partitions) partitions=${2:?--partitions needs a value}; shift 2 ;;
    --jars) jars=${2:?--jars needs a value}; shift 2 ;;
    --topic) topics+=("${2:?--topic needs a value}"); shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ -z "$port" || "$port" =~ ^[0-9]+$ ]] || die "--port: not a number: $port"
[[ "$partitions" =~ ^[1-9][0-9]*$ ]] || die "--partitions: not a positive number: $partitions"
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
command -v "$java" >/dev/null || die "java is not installed (Kafka 4 needs Java 17 or newer)"
java_major=$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
[[ "${java_major%%.*}" =~ ^[0-9]+$ && "${java_major%%.*}" -ge 17 ]] ||
    die "Kafka 4 needs Java 17 or newer; $java is $java_major (set JAVA_HOME)"
command -v kcat >/dev/null || die "kcat is not installed (apt-get install kcat)"
if [[ -z "$jars" || ! -f "$jars/.complete" ]]; then
    jars=$("$here/fetch-jars.sh" ${jars:+"$jars"}) || die "cannot fetch Kafka's jars"
fi
ls "$jars"/kafka_2.13-*.jar >/dev/null 2>&1 || die "no kafka_2.13 jar in $jars"
if [[ -z "$dir" ]]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/atc-kafka.XXXXXX")
fi
mkdir -p "$dir/logs"
dir=$(cd "$dir" && pwd)
config="$dir/server.properties"

jvm=("$java" -Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$dir/log4j2.properties" -Dkafka.logs.dir="$dir/logs"
    -cp "$jars/*")

if [[ -f "$dir/data/meta.properties" && -f "$config" ]]; then
    # A restart: the same ports, partitions and storage as before.
    partitions=$(sed -n 's|^num.partitions=||p' "$config")
    old=$(sed -n 's|^advertised.listeners=PLAINTEXT://127.0.0.1:||p' "$config")
    [[ -z "$port" || "$port" == "$old" ]] || die "$dir was a broker on port $old, not $port"
    port=$old
else
    [[ -n "$port" ]] || port=$(free_port)
    cport=$(free_port)
    while [[ "$cport" == "$port" ]]; do cport=$(free_port); done
    cat >"$config" <<PROPS
# Written by tests/kafka/start-kafka.sh: one KRaft node for tests, on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=$partitions
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
PROPS
    cat >"$dir/log4j2.properties" <<'PROPS'
# Kafka's log: WARN and above to stderr, INFO and above to logs/server.log.
appender.err.type=Console
appender.err.name=STDERR
appender.err.target=SYSTEM_ERR
appender.err.layout.type=PatternLayout
appender.err.layout.pattern=[%d] %p %m (%c)%n
appender.err.filter.threshold.type=ThresholdFilter
appender.err.filter.threshold.level=WARN
appender.file.type=File
appender.file.name=FILE
appender.file.fileName=${sys:kafka.logs.dir}/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.err.ref=STDERR
rootLogger.appenderRef.file.ref=FILE
PROPS
    # A random cluster id: 16 random bytes, base64url without padding (22 chars),
    # not starting with '-' (which the tool would read as an option).
    cluster_id=-
    while [[ "$cluster_id" == -* ]]; do
        cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    done
    "${jvm[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$config" \
        >"$dir/logs/format.out" 2>&1 || { cat "$dir/logs/format.out" >&2; die "kafka-storage format failed"; }
fi

# The watcher: once the broker answers, has the topics made (if need be) and
# prints ATC_BROKERS. It gives up when the JVM ($$ after exec) is gone.
# The topics are made by auto-creation (num.partitions above) on kcat's metadata
# request for them: a JVM for TopicCommand would cost seconds more per start.
broker_pid=$$
(
    SECONDS=0
    topic_ready() { # NAME: metadata shows it with every partition led
        local out
        out=$(kcat -L -b "127.0.0.1:$port" -t "$1" -m 2 2>&1) || return 1
        [[ "$out" == *'topic "'"$1"'" with '"$partitions"' partitions:'* &&
            "$out" != *Broker:* && "$out" != *'leader -1'* ]]
    }
    alive() {
        kill -0 "$broker_pid" 2>/dev/null || exit 1
        ((SECONDS < 300)) || { echo "start-kafka.sh: no broker with both topics after 300 s" >&2; exit 1; }
        sleep 0.2
    }
    until kcat -L -b "127.0.0.1:$port" -m 2 >/dev/null 2>&1; do alive; done
    for t in "${topics[@]}"; do
        until topic_ready "$t"; do alive; done
    done
    echo "ATC_BROKERS=127.0.0.1:$port"
) &
exec "${jvm[@]}" kafka.Kafka "$config" >&2
