#!/usr/bin/env bash
# `make run`: use REDIS_URL if set, else start a local redis-server (installing Debian's
# package when missing); create the demo site once; print how to reach it; serve.
# Ctrl-C, SIGTERM or `make stop` (scripts/stop.sh) stop the service and the Redis started here,
# by the PIDs recorded in the run folder.
#
# `make run HOST=… PORT=… WORKERS=… REDIS_PORT=…` (or MODERATION_HOST, MODERATION_PORT,
# MODERATION_WORKERS) choose where it listens and which port its Redis gets. A Redis that
# `make run` did not start is never used unless REDIS_URL names it: if REDIS_PORT (default 6379)
# is taken, the next free port is used and the banner says so. The Redis in use is written to
# the run folder's make-run.env, for the command line in another shell: `. var/make-run.env`.
set -euo pipefail
# A shell started in the background by another shell script inherits SIGINT ignored, and bash
# cannot trap a signal that was ignored on entry: Ctrl-C (`kill -INT`) would never reach the
# clean-up below, and the service, in its own session, would never be stopped. Start again with
# SIGINT at its default disposition (same PID, same process group).
sigint_ignored() {
  local mask
  mask="$(awk '/^SigIgn:/ {print $2}' "/proc/$$/status" 2>/dev/null)" || return 1
  [[ -n "$mask" ]] && (( 0x$mask & 2 ))
}
if [[ -z "${MAKE_RUN_SIGINT_RESET:-}" ]] && sigint_ignored; then
  MAKE_RUN_SIGINT_RESET=1 exec env --default-signal=INT bash "$0" "$@"
fi
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
HOST="${MODERATION_HOST:-127.0.0.1}"
PORT="${MODERATION_PORT:-8080}"
WORKERS="${MODERATION_WORKERS:-1}"
# Where Redis keeps its data and both PID files live (tests use a temporary folder).
RUN_DIR="${MODERATION_RUN_DIR:-var}"
KEYS_FILE="${MODERATION_DEMO_KEYS:-demo-keys.json}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"
# How long a redis-server we start may take to answer (a cold start on a loaded machine).
REDIS_START_SECONDS=30
# How many ports above REDIS_PORT are tried when it is taken by something else.
REDIS_PORT_TRIES=20

SERVER_PID=""
cleanup() {
  trap - EXIT INT TERM HUP
  if [[ -n "$SERVER_PID" ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true  # it may have ended already
    local status=0
    wait "$SERVER_PID" 2>/dev/null || status=$?
    echo "make run: the service exited with status $status"
  fi
  rm -f "$RUN_DIR/moderation.pid"
  # Only the Redis whose PID file is in the run folder, i.e. one a `make run` started.
  MODERATION_RUN_DIR="$RUN_DIR" bash scripts/stop.sh
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# The listen address first: a busy port is one line now, not after Redis and the demo site.
"$PY" - "$HOST" "$PORT" <<'PY'
import sys

from moderation.web.server import CannotServe, check_port

try:
    check_port(sys.argv[1], int(sys.argv[2]))
except (CannotServe, ValueError) as exc:
    sys.exit(f"make run: {exc}")
PY

# free PORT: nothing listens on 127.0.0.1:PORT (a Redis, or anything else).
free() {
  "$PY" - "$1" <<'PY'
import socket
import sys

with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(1)
PY
}

# ours PORT: the redis-server an earlier `make run` left running from this run folder (after a
# crash or a kill -9), listening on PORT: using it again is using our own data.
ours() {
  local pid
  pid="$(cat "$RUN_DIR/redis.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "redis-server" \
    && [[ "$(cat "$RUN_DIR/redis.port" 2>/dev/null)" == "$1" ]]
}

if [[ -z "${REDIS_URL:-}" ]]; then
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing Debian's redis-server"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  WANTED="${REDIS_PORT:-6379}"
  RPORT=""
  for CANDIDATE in $(seq "$WANTED" $((WANTED + REDIS_PORT_TRIES))); do
    if ours "$CANDIDATE"; then
      RPORT="$CANDIDATE"
      echo "make run: using the redis-server an earlier make run started on port $RPORT (pid $(cat "$RUN_DIR/redis.pid"))"
      break
    fi
    if free "$CANDIDATE"; then
      RPORT="$CANDIDATE"
      # AOF on, fsync every second: at most one second of acknowledged writes at risk on power loss.
      # Comment hashes up to 4 KB per field stay compact listpacks (~280 bytes less per comment).
      redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$RUN_DIR" --appendonly yes \
        --hash-max-listpack-value 4096 --appendfsync everysec --daemonize yes \
        --logfile "$RUN_DIR/redis.log" --pidfile "$RUN_DIR/redis.pid"
      echo "$RPORT" >"$RUN_DIR/redis.port"
      for _ in $(seq $((REDIS_START_SECONDS * 10))); do
        redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break
        sleep 0.1
      done
      redis-cli -p "$RPORT" ping >/dev/null 2>&1 || {
        echo "make run: redis-server did not answer on port $RPORT within $REDIS_START_SECONDS s; see $RUN_DIR/redis.log" >&2
        exit 1
      }
      break
    fi
  done
  if [[ -z "$RPORT" ]]; then
    echo "make run: ports $WANTED to $((WANTED + REDIS_PORT_TRIES)) are all taken; choose another REDIS_PORT" >&2
    exit 1
  fi
  if [[ "$RPORT" != "$WANTED" ]]; then
    # Loudly: a Redis that something else runs there is not ours to fill with demo data.
    echo "make run: port $WANTED is taken by a process make run did not start; its own Redis is on port $RPORT."
    echo "          To use the server on $WANTED instead: REDIS_URL=redis://127.0.0.1:$WANTED/0 make run"
  fi
  export REDIS_URL="redis://127.0.0.1:$RPORT/0"
fi

# The reputation HMAC key: kept beside Redis's data, created on first run, never printed.
if [[ -z "${MODERATION_REPUTATION_SECRET:-}" && -z "${MODERATION_REPUTATION_SECRET_FILE:-}" ]]; then
  export MODERATION_REPUTATION_SECRET_FILE="$RUN_DIR/reputation.secret"
fi

# For the command line in another shell (the README's examples start with `. var/make-run.env`):
# the Redis in use, and the reputation key's file (commands that touch reputation entries need
# the same key). 0600: a REDIS_URL given by the operator can carry a password.
(umask 077 && {
  printf '# Written by make run: the Redis it uses.\nexport REDIS_URL=%q\n' "$REDIS_URL"
  if [[ -n "${MODERATION_REPUTATION_SECRET_FILE:-}" ]]; then
    printf 'export MODERATION_REPUTATION_SECRET_FILE=%q\n' "$MODERATION_REPUTATION_SECRET_FILE"
  fi
} >"$RUN_DIR/make-run.env")

"$PY" -m moderation demo --keys-file "$KEYS_FILE"
SITE_KEY=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["api_key"])' "$KEYS_FILE")
MOD_TOKEN=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["moderator_token"])' "$KEYS_FILE")
ENV_FILE="$RUN_DIR/make-run.env"
[[ "$ENV_FILE" == "$PWD/"* ]] && ENV_FILE="${ENV_FILE#"$PWD/"}"
SHOWN_URL="$REDIS_URL"
[[ "$SHOWN_URL" == *@* ]] && SHOWN_URL="${REDIS_URL%%://*}://…@${REDIS_URL##*@}"  # never a password
# The "Try" comment has its own author, address and Idempotency-Key, so it is accepted after
# the README's examples (no flood or duplicate refusal) and a repeat replays the same answer.
cat <<MSG

  Moderation service: http://$HOST:$PORT  (links to the moderator page and the API schema)
  Demo site keys (also in $KEYS_FILE, git-ignored):
    site API key     $SITE_KEY
    moderator token  $MOD_TOKEN
  Redis: $SHOWN_URL  (for the command line in another shell: . $ENV_FILE)
  Try:
    curl -s http://$HOST:$PORT/v1/comments -H "Authorization: Bearer $SITE_KEY" \\
      -H 'Content-Type: application/json' -H 'Idempotency-Key: make-run-try' \\
      -d '{"post_id":"bai-2","author_name":"Minh","author_email":"minh@example.vn","content":"Cảm ơn tòa soạn, thông tin rất hữu ích."}'
  Moderator page: http://$HOST:$PORT/moderate
  Stop: Ctrl-C here, or \`make stop\` from another terminal

MSG
# In its own session: Ctrl-C in this terminal signals the whole foreground process group, and
# the service used to get that SIGINT and then, already shutting down, this script's SIGTERM
# too; the second signal raised aiohttp's GracefulExit again in the middle of its clean-up.
# Now this script is the only one the terminal reaches, and the service gets one SIGTERM.
# (setsid execs the service in place, so $! is the service's PID.)
setsid "$PY" -m moderation serve --host "$HOST" --port "$PORT" --workers "$WORKERS" &
SERVER_PID=$!
echo "$SERVER_PID" >"$RUN_DIR/moderation.pid"
# `wait` returns early when a trapped signal arrives; the trap then exits through cleanup.
# Past it, the service ended on its own (a bad model folder, say): report, clean up, pass it on.
SERVER_STATUS=0
wait "$SERVER_PID" || SERVER_STATUS=$?
SERVER_PID=""
echo "make run: the service exited with status $SERVER_STATUS"
exit "$SERVER_STATUS"
