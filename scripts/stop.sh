#!/usr/bin/env bash
# `make stop`: stop what `make run` started, by the PIDs it recorded in its run folder: the
# service (which finishes in-flight requests on SIGTERM) and the redis-server it started, if it
# started one. A Redis it found already running, or the one REDIS_URL names, is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR="${MODERATION_RUN_DIR:-var}"
# The service gives in-flight requests 10 s on SIGTERM; Redis writes its AOF and exits.
WAIT_SECONDS=20

# stop_pid FILE NAME PATTERN: SIGTERM the process in FILE if it is alive and its command line
# still contains PATTERN (a PID file left behind by a crash may name an unrelated process now).
stop_pid() {
  local file="$1" name="$2" pattern="$3" pid
  # run.sh's own clean-up may stop the same process and remove the file meanwhile.
  pid="$(cat "$file" 2>/dev/null)" || return 0
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
      && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"; then
    echo "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true  # it may have ended in between
    for _ in $(seq $((WAIT_SECONDS * 10))); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "$name (pid $pid) did not stop within $WAIT_SECONDS s" >&2
      return 1
    fi
  fi
  rm -f "$file"
}

stop_pid "$RUN_DIR/moderation.pid" "the moderation service" "moderation serve"
stop_pid "$RUN_DIR/redis.pid" "redis-server" "redis-server"
rm -f "$RUN_DIR/redis.port"
