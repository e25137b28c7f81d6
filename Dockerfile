# syntax=docker/dockerfile:1
#
# Builder of any connector's static binary (musl), for machines without a Rust
# toolchain and for CI. It runs `cargo xtask build`, whose output folder is the
# connector's image context: the static binary plus a Dockerfile that starts
# FROM the upstream Airbyte image (connector.json `base_image`), copies the
# binary in, sets the labels and env of connector.json and makes the binary
# the entrypoint. So an image is two builds (both need a Docker engine):
#
#   docker buildx build --build-arg CONNECTOR=source-faker --target context \
#       --output type=local,dest=target/connectors/source-faker .
#   docker build -t ghcr.io/estuary/source-faker:local target/connectors/source-faker
#
# With a Rust toolchain the first step is just
# `cargo xtask build source-faker` (same output folder).

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
ARG CONNECTOR
RUN test -n "$CONNECTOR" \
 || { echo "error: no connector given: pass --build-arg CONNECTOR=source-NAME (a folder of connectors/)" >&2; exit 1; }
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,id=target-$CONNECTOR \
    cargo xtask build "$CONNECTOR" --out /out

# The image context of the connector: export it with --output type=local.
FROM scratch AS context
COPY --from=builder /out/ /
