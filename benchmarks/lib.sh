# Shared by the benchmark scripts (sourced): builds the benchmark jar and starts a private redis-server.
# After start_redis: $port, $url (redis://127.0.0.1:$port) and $dir (a scratch folder removed at exit).

# build_benchmarks [module,...]: the benchmark jar (and the given modules) through the reactor, never installed;
# offline first (the local repository usually has everything), online if that fails.
build_benchmarks() {
  local modules=benchmarks${1:+,$1}
  echo "Building..."
  mvn -o -q -B -ntp -DskipTests package -pl "$modules" -am >/dev/null 2>&1 \
    || mvn -q -B -ntp -DskipTests package -pl "$modules" -am
}

start_redis() {
  command -v redis-server >/dev/null || { echo "redis-server is needed (apt-get install redis-server)"; exit 2; }
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  dir=$(mktemp -d)
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
  redis_pid=$!
  trap 'kill $redis_pid 2>/dev/null; rm -rf "$dir"' EXIT
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
  url="redis://127.0.0.1:$port"
}
