#!/usr/bin/env bash
# The README's test command (CI runs it too, through .ci/run): installs the Debian/Ubuntu packages the tests need
# that this machine lacks, then runs the Maven build with every test. As root it installs them with apt; otherwise
# it uses sudo when sudo works without a password, and else names the packages to install and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need+=(maven)
command -v redis-server >/dev/null || need+=(redis-server)
# The AMQP tests start their own RabbitMQ node with the package's start script (never the system service).
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
# Interop tests run the real Celery from Debian, with Debian's interpreter.
/usr/bin/python3 -c 'import celery, redis' 2>/dev/null || need+=(python3-celery python3-redis)
# The JDBC store tests start their own PostgreSQL cluster with initdb/pg_ctl.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# ... and their own MariaDB server with mariadb-install-db/mariadbd.
command -v mariadb-install-db >/dev/null || need+=(mariadb-server)
# The dashboard's browser tests drive Debian's headless Chromium through its chromedriver (nothing downloaded).
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO="sudo"
  else
    echo "The tests need these Debian packages; install them as root, then run this again:" >&2
    echo "  apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "Installing: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

java -version 2>&1 | sed -n 1p   # sed reads everything: no broken pipe under pipefail
mvn -v | sed -n 1p
redis-server --version
dpkg-query -W -f='rabbitmq-server ${Version}\n' rabbitmq-server
/usr/bin/python3 -c 'import celery; print("celery", celery.__version__)'
chromium --version 2>/dev/null | sed -n 1p
chromedriver --version | sed -n 1p

mvn -B -ntp verify
