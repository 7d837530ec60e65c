#!/bin/sh
# The container's start (Dockerfile ENTRYPOINT), then the command it is given (CMD: serve).
#
# 1. Models on a volume: the image's packaged models are copied to MODERATION_MODELS_DIR on the
#    first start. `moderation retrain` writes the candidate, spam.previous and the swap there,
#    which the packaged folder (root-owned, read-only to the service's user) would refuse, and
#    a promoted model then outlives the container.
# 2. A first site: with MODERATION_FIRST_SITE set, the site is created on the first start and
#    its API key, Akismet-style key and a moderator token are printed once, in the logs
#    (`docker compose logs api`); later starts only say it exists.
#
# tests/test_docker.py runs this script outside Docker (no engine on the development machines)
# with a temporary models folder and a real redis-server.
set -eu

models="${MODERATION_MODELS_DIR:?MODERATION_MODELS_DIR must name the models volume}"
if [ ! -f "$models/spam/manifest.json" ]; then
  packaged="$(python -c 'from moderation.core.settings import DEFAULT_MODELS_DIR; print(DEFAULT_MODELS_DIR)')"
  echo "moderation: first start: copying the packaged models from $packaged to $models"
  mkdir -p "$models"
  for folder in "$packaged"/*/; do
    if [ -f "$folder/manifest.json" ]; then
      cp -R "${folder%/}" "$models/"
    fi
  done
fi

if [ -n "${MODERATION_FIRST_SITE:-}" ]; then
  moderation sites add "$MODERATION_FIRST_SITE" --if-missing
fi

exec "$@"
