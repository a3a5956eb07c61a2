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

# start_rabbitmq: a private RabbitMQ node (Debian's rabbitmq-server) on a free loopback port, with its own node
# name, config, database and logs under $dir (call start_redis first), no plugins; stopped at exit.
# After it: $amqp_port, $amqp_url (amqp://guest:guest@127.0.0.1:$amqp_port//).
start_rabbitmq() {
  local script=/usr/lib/rabbitmq/bin/rabbitmq-server
  [ -x "$script" ] || { echo "rabbitmq-server is needed (apt-get install rabbitmq-server)"; exit 2; }
  free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  amqp_port=$(free_port)
  local dist_port; dist_port=$(free_port)
  local r="$dir/rabbitmq"
  mkdir -p "$r/home" "$r/mnesia" "$r/log"
  printf 'listeners.tcp.1 = 127.0.0.1:%s\ndisk_free_limit.absolute = 50MB\nvm_memory_high_watermark.relative = 0.8\n' \
    "$amqp_port" >"$r/rabbitmq.conf"
  echo '[].' >"$r/enabled_plugins"
  : >"$r/rabbitmq-env.conf"
  # As the node's owner, not through /usr/sbin's wrapper (which switches to the rabbitmq user when run as root).
  env -u RABBITMQ_NODENAME HOME="$r/home" RABBITMQ_CONF_ENV_FILE="$r/rabbitmq-env.conf" \
    RABBITMQ_NODENAME="celeriac-bench-$amqp_port@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$amqp_port" RABBITMQ_DIST_PORT="$dist_port" RABBITMQ_CONFIG_FILE="$r/rabbitmq.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$r/enabled_plugins" RABBITMQ_MNESIA_BASE="$r/mnesia" RABBITMQ_LOG_BASE="$r/log" \
    RABBITMQ_LOGS=- ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    "$script" >"$r/node.log" 2>&1 &
  rabbit_pid=$!
  trap 'kill $redis_pid 2>/dev/null; pkill -TERM -P $rabbit_pid 2>/dev/null; kill $rabbit_pid 2>/dev/null; wait $rabbit_pid 2>/dev/null; rm -rf "$dir"' EXIT
  local i
  for i in $(seq 1 600); do
    if /usr/bin/python3 -c "import amqp,sys; c=amqp.Connection('127.0.0.1:$amqp_port'); c.connect(); c.close()" 2>/dev/null; then
      break
    fi
    kill -0 $rabbit_pid 2>/dev/null || { echo "RabbitMQ did not start:"; tail -20 "$r/node.log"; exit 2; }
    sleep 0.1
  done
  amqp_url="amqp://guest:guest@127.0.0.1:$amqp_port//"
}
