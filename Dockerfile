# syntax=docker/dockerfile:1
# MCP Coordinator: gRPC on 50051, REST/JSON on 8766.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY coordinator ./coordinator
COPY gen ./gen
COPY migrations ./migrations
RUN pip install --no-cache-dir --upgrade pip \
 && pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
# Listens on every interface, so it is production by default: it refuses to start without
# COORDINATOR_API_KEY (at least 32 characters; `mcp-coordinator keys create`) or api_keys in
# the YAML file. Set TLS_CERT_FILE / TLS_KEY_FILE (mounted files) unless a proxy ends TLS.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=8766 \
    GRPC_PORT=50051 \
    LOG_FORMAT=json
RUN groupadd --system --gid 10001 coordinator \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app coordinator
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
# Numeric, so Kubernetes' runAsNonRoot can verify it without a runAsUser.
USER 10001:10001
EXPOSE 8766 50051
HEALTHCHECK --interval=10s --timeout=2s --start-period=5s --retries=3 \
  CMD python -c "import os, ssl, urllib.request; tls = bool(os.environ.get('TLS_CERT_FILE')); urllib.request.urlopen(('https' if tls else 'http') + '://127.0.0.1:%s/health' % os.environ.get('PORT', '8766'), timeout=2, context=ssl._create_unverified_context() if tls else None)"
# SIGTERM drains in-flight calls (DRAIN_SECONDS, default 10) before exiting.
STOPSIGNAL SIGTERM
CMD ["mcp-coordinator", "serve"]
