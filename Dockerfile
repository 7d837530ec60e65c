# The service image. Not built on the development machines (no Docker engine there): the
# compose file is checked against the Compose JSON schema and docker/entrypoint.sh is run
# outside Docker in the test suite instead (tests/test_docker.py).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md constraints.txt ./
COPY service ./service
COPY models ./models
# The pinned versions the tests ran with (and the models were built with). The wheel
# carries the models as package data, so the service finds them from any directory. With the
# train extra, so that `moderation retrain` works in the container (models on a volume);
# serving alone needs `.` (README, Install).
RUN pip install --no-cache-dir -c constraints.txt '.[train]'
COPY docker/entrypoint.sh /usr/local/bin/moderation-entrypoint
# The volumes' mount points, owned by the service's user: a new named volume starts as a copy
# of the folder (ownership included), so the service can write there: the reputation key
# (/var/lib/moderation) and the models `moderation retrain` promotes (/var/lib/moderation-models).
RUN useradd --system --uid 10001 moderation \
    && mkdir -p /var/lib/moderation /var/lib/moderation-models \
    && chown moderation /var/lib/moderation /var/lib/moderation-models
# The reputation HMAC key, created on first start in the volume docker-compose.yml mounts here.
ENV MODERATION_REPUTATION_SECRET_FILE=/var/lib/moderation/reputation.secret
USER moderation
ENV MODERATION_MODELS_DIR=/var/lib/moderation-models
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz').status==200 else 1)"
# Copies the packaged models to the volume on the first start and creates MODERATION_FIRST_SITE
# (keys printed once in the logs), then runs CMD.
ENTRYPOINT ["moderation-entrypoint"]
CMD ["moderation", "serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "2"]
