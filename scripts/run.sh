#!/usr/bin/env bash
# `make run`: use REDIS_URL if set, else start a local redis-server (installing Debian's
# package when missing); create the demo site once; print how to reach it; serve.
# Ctrl-C, SIGTERM or `make stop` (scripts/stop.sh) stop the service and the Redis started here,
# by the PIDs recorded in the run folder.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
HOST="${MODERATION_HOST:-127.0.0.1}"
PORT="${MODERATION_PORT:-8080}"
# Where Redis keeps its data and both PID files live (tests use a temporary folder).
RUN_DIR="${MODERATION_RUN_DIR:-var}"
KEYS_FILE="${MODERATION_DEMO_KEYS:-demo-keys.json}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"

SERVER_PID=""
cleanup() {
  trap - EXIT INT TERM
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -f "$RUN_DIR/moderation.pid"
  # Only the Redis whose PID file is in the run folder, i.e. one a `make run` started.
  MODERATION_RUN_DIR="$RUN_DIR" bash scripts/stop.sh
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z "${REDIS_URL:-}" ]]; then
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing Debian's redis-server"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  RPORT="${REDIS_PORT:-6379}"
  if ! redis-cli -p "$RPORT" ping >/dev/null 2>&1; then
    # AOF on, fsync every second: at most one second of acknowledged writes at risk on power loss.
    # Comment hashes up to 4 KB per field stay compact listpacks (~280 bytes less per comment).
    redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$RUN_DIR" --appendonly yes \
      --hash-max-listpack-value 4096 --appendfsync everysec --daemonize yes \
      --logfile "$RUN_DIR/redis.log" --pidfile "$RUN_DIR/redis.pid"
    for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  export REDIS_URL="redis://127.0.0.1:$RPORT/0"
fi

# The reputation HMAC key: kept beside Redis's data, created on first run, never printed.
if [[ -z "${MODERATION_REPUTATION_SECRET:-}" && -z "${MODERATION_REPUTATION_SECRET_FILE:-}" ]]; then
  export MODERATION_REPUTATION_SECRET_FILE="$RUN_DIR/reputation.secret"
fi

"$PY" -m service demo --keys-file "$KEYS_FILE"
SITE_KEY=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["api_key"])' "$KEYS_FILE")
MOD_TOKEN=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["moderator_token"])' "$KEYS_FILE")
# The "Try" comment has its own author, address and Idempotency-Key, so it is accepted after
# the README's examples (no flood or duplicate refusal) and a repeat replays the same answer.
cat <<MSG

  Moderation service: http://$HOST:$PORT  (links to the moderator page and the API schema)
  Demo site keys (also in $KEYS_FILE, git-ignored):
    site API key     $SITE_KEY
    moderator token  $MOD_TOKEN
  Try:
    curl -s http://$HOST:$PORT/v1/comments -H "Authorization: Bearer $SITE_KEY" \\
      -H 'Content-Type: application/json' -H 'Idempotency-Key: make-run-try' \\
      -d '{"post_id":"bai-2","author_name":"Minh","author_email":"minh@example.vn","content":"Cảm ơn tòa soạn, thông tin rất hữu ích."}'
  Moderator page: http://$HOST:$PORT/moderate
  Stop: Ctrl-C here, or \`make stop\` from another terminal

MSG
"$PY" -m service serve --host "$HOST" --port "$PORT" --workers "${MODERATION_WORKERS:-1}" &
SERVER_PID=$!
echo "$SERVER_PID" >"$RUN_DIR/moderation.pid"
# `wait` returns early when a trapped signal arrives; the trap then exits through cleanup.
wait "$SERVER_PID"
