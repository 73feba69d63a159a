# Faultline's container image: built with the Rust toolchain image, run on
# a slim Debian as a non-root user. `docker compose up` builds it (see
# docker-compose.yml); alone: docker build -t faultline . 
#
#   docker run -p 8080:8080 -p 4317:4317 -p 4318:4318 \
#     -e FAULTLINE_ADMIN_TOKEN=$(openssl rand -hex 32) -v faultline-data:/var/lib/faultline faultline

# Build stage. Building needs only cargo: protoc is vendored
# (crates/faultline-store/build.rs). The workspace's members must all be
# present for cargo to read the workspace, so tests/ and benches/ come too
# (.dockerignore keeps their installed SDKs out).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY proto proto
COPY tests tests
COPY benches benches
RUN cargo build --release --locked -p faultline-server --bin faultline \
    && install -m 0755 target/release/faultline /usr/local/bin/faultline

# Runtime stage: the binary, curl for the health check, a user of its own.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/faultline --shell /usr/sbin/nologin faultline \
    && mkdir -p /var/lib/faultline /etc/faultline \
    && chown faultline:faultline /var/lib/faultline
COPY --from=build /usr/local/bin/faultline /usr/local/bin/faultline
# Listeners on 0.0.0.0 and the data in the volume; mount another file over
# it, or set FAULTLINE_* variables (they win over the file).
COPY deploy/container.toml /etc/faultline/faultline.toml
ENV FAULTLINE_CONFIG=/etc/faultline/faultline.toml
VOLUME ["/var/lib/faultline"]
# OTLP/gRPC, OTLP/HTTP, API and web pages.
EXPOSE 4317 4318 8080
USER faultline
WORKDIR /var/lib/faultline
# /readyz answers 200 once the store is open and every listener is up, 503
# while starting or draining.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8080/readyz || exit 1
# SIGTERM (docker stop) drains in-flight exports and flushes before exiting;
# give it the time it needs (docker stop -t, stop_grace_period in compose).
STOPSIGNAL SIGTERM
ENTRYPOINT ["faultline"]
CMD ["serve"]
