# Multi-stage build: compile with the full toolchain (libpq and SQLite are built from their
# bundled sources), run on a slim image that needs only OpenSSL.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libssl-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY locales locales
COPY migrations migrations
COPY templates templates
COPY static static
COPY bench bench
RUN cargo build --release --locked && strip target/release/gatehouse

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libssl3 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/gatehouse gatehouse \
    && mkdir -p /var/lib/gatehouse && chown gatehouse /var/lib/gatehouse
COPY --from=build /src/target/release/gatehouse /usr/local/bin/gatehouse
USER gatehouse
ENV GATEHOUSE_LISTEN=0.0.0.0:8080 GATEHOUSE_DATA_DIR=/var/lib/gatehouse
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["gatehouse"]
CMD ["serve"]
