#!/usr/bin/env bash
# The dashboard with a full history: N real tasks through a worker with events, then its pages timed over HTTP.
#   benchmarks/dashboard.sh            100k tasks
#   TASKS=20000 benchmarks/dashboard.sh
# (No Flower side by side: Flower is not packaged by Debian and PyPI is not reachable from these machines.)
set -euo pipefail
cd "$(dirname "$0")/.."
TASKS=${TASKS:-100000}
command -v redis-server >/dev/null || { echo "redis-server is needed (apt-get install redis-server)"; exit 2; }
echo "Building..."
mvn -q -B -ntp -DskipTests package -pl benchmarks -am
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; rm -rf "$dir"' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
echo "Redis on port $port; $(nproc) cores; Java $(java -version 2>&1 | head -1)"
java -cp benchmarks/target/celeriac-benchmarks.jar io.celeriac.benchmarks.DashboardLoad "redis://127.0.0.1:$port" "$TASKS"
