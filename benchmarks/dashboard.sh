#!/usr/bin/env bash
# The dashboard with a full history: N real tasks through a worker with events, then its pages timed over HTTP.
#   benchmarks/dashboard.sh            100k tasks
#   TASKS=20000 benchmarks/dashboard.sh
# (No Flower side by side: Flower is not packaged by Debian and PyPI is not reachable from these machines.)
set -euo pipefail
cd "$(dirname "$0")/.."
TASKS=${TASKS:-100000}
. benchmarks/lib.sh
build_benchmarks
start_redis
echo "Redis on port $port; $(nproc) cores; Java $(java -version 2>&1 | sed -n 1p)"
java -cp benchmarks/target/celeriac-benchmarks.jar io.celeriac.benchmarks.DashboardLoad "$url" "$TASKS"
