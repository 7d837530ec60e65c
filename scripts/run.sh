#!/usr/bin/env bash
# `make run`: use REDIS_URL if set, else start a local redis-server (installing Debian's
# package when missing); create the demo site once; print how to reach it; serve.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST="${MODERATION_HOST:-127.0.0.1}"
PORT="${MODERATION_PORT:-8080}"
mkdir -p var

if [[ -z "${REDIS_URL:-}" ]]; then
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing Debian's redis-server"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  RPORT="${REDIS_PORT:-6379}"
  if ! redis-cli -p "$RPORT" ping >/dev/null 2>&1; then
    # AOF on, fsync every second: at most one second of acknowledged writes at risk on power loss.
    # Comment hashes up to 4 KB per field stay compact listpacks (~280 bytes less per comment).
    redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$PWD/var" --appendonly yes \
      --hash-max-listpack-value 4096 --appendfsync everysec --daemonize yes --logfile "$PWD/var/redis.log" --pidfile "$PWD/var/redis.pid"
    for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  export REDIS_URL="redis://127.0.0.1:$RPORT/0"
fi

"$PY" -m service demo --keys-file demo-keys.json
SITE_KEY=$("$PY" -c 'import json;print(json.load(open("demo-keys.json"))["api_key"])')
MOD_TOKEN=$("$PY" -c 'import json;print(json.load(open("demo-keys.json"))["moderator_token"])')
cat <<MSG

  Moderation service: http://$HOST:$PORT
  Demo site keys (also in demo-keys.json, git-ignored):
    site API key     $SITE_KEY
    moderator token  $MOD_TOKEN
  Try:
    curl -s http://$HOST:$PORT/v1/comments -H "Authorization: Bearer $SITE_KEY" \\
      -H 'Content-Type: application/json' \\
      -d '{"post_id":"bai-1","author_name":"Lan","author_email":"lan@example.vn","content":"Bài viết rất hay, cảm ơn tác giả!"}'
  Moderator page: http://$HOST:$PORT/moderate

MSG
exec "$PY" -m service serve --host "$HOST" --port "$PORT" --workers "${MODERATION_WORKERS:-1}"
