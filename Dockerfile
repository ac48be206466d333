# AlphaPulse services image: alphapulse ingest | trade | serve (deploy/compose.yaml).
# Multi-stage: the build stage compiles wheels (TA-Lib, numba deps) into a virtualenv;
# the runtime stage is python:3.11-slim with that venv only, run as a non-root user.
# torch is the CPU build pinned in constraints.txt (no CUDA download).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install -c constraints.txt --extra-index-url https://download.pytorch.org/whl/cpu ".[ray]"

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ALPHAPULSE_DATA=/data \
    ALPHAPULSE_HEALTH_HOST=0.0.0.0
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system alphapulse \
 && useradd --system --gid alphapulse --home-dir /app --create-home alphapulse
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER alphapulse
EXPOSE 8000 9101 9102
# The health port of the service this container runs (serve: 8000/health).
ENV HEALTH_URL=http://127.0.0.1:8000/health
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD curl -fsS "$HEALTH_URL" || exit 1
ENTRYPOINT ["alphapulse"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
