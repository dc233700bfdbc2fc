# Dockerfile: the atc-worker image (default target) and a daytona-local image
# (--target daytona-local), both built from this tree on Debian bookworm, the
# release whose library versions the tests use.
#
#   docker build -t atc-worker .
#   docker build --target daytona-local -t atc-daytona-local .
#
# The build stage runs deploy/build.sh, the same script CI runs: a release build
# and the unit tests, so an image is never made from a tree whose tests fail.

# ---- build: compilers, -dev packages, the release build and its unit tests ----
FROM debian:bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
# Only the package script first, so the package layer is cached across source edits.
COPY deploy/install-deps.sh deploy/install-deps.sh
RUN deploy/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# The unit tests start redis-server and daytona-local on loopback; both are installed above.
RUN deploy/build.sh /src/build-release

# ---- daytona-local: the Daytona-compatible sandbox server, for use without an account ----
FROM debian:bookworm-slim AS daytona-local
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY deploy/install-deps.sh /usr/local/lib/atc/install-deps.sh
# Sandboxes run pytest (and pip for a job's dependencies) as the server's user.
RUN /usr/local/lib/atc/install-deps.sh --runtime-only \
    && apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends python3 python3-pytest python3-pip python3-venv \
    && rm -rf /var/lib/apt/lists/* /usr/local/lib/atc \
    && useradd --uid 10001 --user-group --no-create-home --home-dir /tmp --shell /usr/sbin/nologin atc
COPY --from=build /src/build-release/bin/daytona-local /usr/local/bin/daytona-local
USER 10001:10001
ENV TMPDIR=/tmp HOME=/tmp
EXPOSE 3000
ENTRYPOINT ["/usr/local/bin/daytona-local"]
CMD ["--listen", "0.0.0.0:3000", "--root", "/tmp/daytona"]

# ---- worker (default): atc-worker and atc with their shared libraries only ----
FROM debian:bookworm-slim AS worker
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY deploy/install-deps.sh /usr/local/lib/atc/install-deps.sh
# --runtime-only: the shared libraries the programs link (checked by ldd in
# tests/deploy/check.sh) plus ca-certificates for the Daytona API's TLS, and
# curl for the HEALTHCHECK (libcurl is there anyway; the binary adds ~250 kB).
RUN /usr/local/lib/atc/install-deps.sh --runtime-only \
    && rm -rf /var/lib/apt/lists/* /usr/local/lib/atc \
    && useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin atc
COPY --from=build /src/build-release/bin/atc-worker /src/build-release/bin/atc /usr/local/bin/
# Nothing is written outside /tmp (mount an emptyDir there with a read-only root).
USER 10001:10001
ENV TMPDIR=/tmp \
    ATC_HTTP_ADDR=0.0.0.0:9090 \
    ATC_LOG_FORMAT=json
EXPOSE 9090
# /healthz answers 200 while the main loop is alive. Kubernetes ignores
# HEALTHCHECK (the Deployment has its own probes); docker and compose use it.
# It assumes the default port: change it with ATC_HTTP_ADDR.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9090/healthz"]
ENTRYPOINT ["/usr/local/bin/atc-worker"]
