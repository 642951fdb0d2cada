# monitor: the daemon in a container.
#
#   docker compose up -d --build          (see docker-compose.yml and docs/deploy.md)
#   docker build -t monitor .
#   docker run --init -v ./docker:/etc/monitor:ro -v monitor-state:/var/lib/monitor monitor
#
# Config:  /etc/monitor/config.yaml (mount a directory there; the daemon watches it and
#          reloads on change or SIGHUP). State: /var/lib/monitor (a volume: SQLite database,
#          lock file, digest files). Built for linux/amd64 (css-inline has no manylinux
#          wheel for arm64; on arm64 the build would need a Rust toolchain).

# --- build: install the package and its dependencies into a virtualenv -----------------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/monitor/.venv
WORKDIR /src
# Only what the package build needs (pyproject's readme is README.md).
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN /opt/monitor/.venv/bin/pip install --upgrade pip \
 && /opt/monitor/.venv/bin/pip install . \
 && /opt/monitor/.venv/bin/monitor --version

# --- runtime --------------------------------------------------------------------------
FROM python:3.11-slim

LABEL org.opencontainers.image.title="monitor" \
      org.opencontainers.image.description="News monitoring and alerting: polls feeds, cleans articles, matches watch rules, sends digests." \
      org.opencontainers.image.licenses="MIT"

# A dedicated unprivileged user; /var/lib/monitor is its home and the state volume.
RUN groupadd --system monitor \
 && useradd --system --gid monitor --home-dir /var/lib/monitor --no-create-home \
            --shell /usr/sbin/nologin monitor \
 && install -d -o monitor -g monitor -m 0750 /var/lib/monitor \
 && install -d -m 0755 /etc/monitor

COPY --from=build /opt/monitor/.venv /opt/monitor/.venv
# A working default; mount your own directory over /etc/monitor.
COPY docker/config.yaml /etc/monitor/config.yaml

ENV PATH=/opt/monitor/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MONITOR_CONFIG=/etc/monitor/config.yaml

USER monitor:monitor
WORKDIR /var/lib/monitor
VOLUME ["/var/lib/monitor"]

# With docker/config.yaml, health and metrics are served on 9464 inside the container.
EXPOSE 9464

# SIGTERM: stop taking work, let the poll in flight finish (daemon.shutdown_grace), exit 0.
# Give the container a stop timeout longer than that grace (compose: stop_grace_period).
STOPSIGNAL SIGTERM

# Exit 0 when the daemon's poll tick keeps ticking (asks /readyz when http.listen is set,
# else reads the store); 1 with the reason otherwise.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["monitor", "healthcheck", "-c", "/etc/monitor/config.yaml"]

# Exits 78 on an invalid config (every error on stderr): fix the file, then restart.
CMD ["monitor", "run", "-c", "/etc/monitor/config.yaml"]
