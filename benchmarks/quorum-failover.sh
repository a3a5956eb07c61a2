#!/usr/bin/env bash
# The long version of QuorumClusterFailoverIT: a 3-node RabbitMQ cluster on loopback, quorum queues, a real worker
# with acks late; the node holding the queue's leader is SIGKILLed under load, every confirmed task must run, and
# only tasks the kill caught (at most the prefetch window) may run twice. CI runs it with 3,000 tasks; this with
# TASKS (default 30000), ROUNDS times (default 3), each round a fresh cluster.
#   benchmarks/quorum-failover.sh            TASKS=100000 ROUNDS=5 benchmarks/quorum-failover.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=${TASKS:-30000}
rounds=${ROUNDS:-3}
fail=0
for round in $(seq 1 "$rounds"); do
  start=$(date +%s)
  # -am builds the modules it needs from this tree; nothing is installed into ~/.m2.
  if mvn -o -B -q -pl celeriac-amqp -am verify -Dtest=QuorumClusterFailoverIT -Dsurefire.failIfNoSpecifiedTests=false \
      -Dceleriac.cluster.tasks="$tasks" >/dev/null 2>&1; then verdict=pass; else verdict=FAIL; fail=1; fi
  lines=$(grep -h 'QuorumClusterFailoverIT -' celeriac-amqp/target/surefire-reports/io.celeriac.amqp.QuorumClusterFailoverIT-output.txt \
    | sed 's/.*QuorumClusterFailoverIT - //' | tr '\n' ';')
  echo "SUMMARY quorum-failover round $round/$rounds: $verdict, $tasks tasks, $(( $(date +%s) - start )) s; $lines"
done
exit $fail
