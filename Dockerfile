# The service image. Not built on the development machines (no Docker engine there);
# the compose file is validated in the test suite instead.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md constraints.txt ./
COPY service ./service
COPY models ./models
# The pinned versions the tests ran with (and the models were built with). The wheel
# carries the models as package data, so the service finds them from any directory.
RUN pip install --no-cache-dir -c constraints.txt .
RUN useradd --system --uid 10001 moderation \
 && mkdir -p /var/lib/moderation && chown moderation /var/lib/moderation
# The reputation HMAC key, created on first start in the volume docker-compose.yml mounts here.
ENV MODERATION_REPUTATION_SECRET_FILE=/var/lib/moderation/reputation.secret
USER moderation
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz').status==200 else 1)"
CMD ["moderation", "serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "2"]
