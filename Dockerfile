# syntax=docker/dockerfile:1
# Protocol Bank: one image with the protocol-bank binary and the web app embedded in it.
# Stages: web build (Node) → Rust release build → small runtime (Debian slim, non-root).

FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The web build is embedded at compile time (crates/web).
COPY --from=web /src/web/dist web/dist
RUN cargo build --locked --release -p protocol-bank \
    && cp target/release/protocol-bank /usr/local/bin/protocol-bank

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/protocol-bank --create-home protocol-bank
COPY --from=build /usr/local/bin/protocol-bank /usr/local/bin/protocol-bank
USER 10001:10001
WORKDIR /var/lib/protocol-bank
ENV PROTOCOL_BANK_ENV=production \
    LISTEN_ADDR=0.0.0.0:8080 \
    ADMIN_LISTEN_ADDR=0.0.0.0:9090 \
    DATA_DIR=/var/lib/protocol-bank \
    LOG_FORMAT=json
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["/usr/local/bin/protocol-bank"]
CMD ["serve"]
