# syntax=docker/dockerfile:1
# The kubectl-shark image: node-agent and hub-lite, the two binaries the CLI
# deploys into a cluster (the node-agent DaemonSet and the hub).
#
#   docker build -t ghcr.io/kubectl-shark/kubectl-shark:$(version) .
#
# Without Docker, tests/cluster/up builds the same image from this checkout
# (tests/cluster/lib/images.sh): same binaries, same paths, same default command.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# The dashboard (hub-lite/dashboard, Vite) is built with Node; the Rust build embeds its dist.
FROM node:20-${DEBIAN_RELEASE} AS dashboard
WORKDIR /dashboard
COPY hub-lite/dashboard/package.json hub-lite/dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY hub-lite/dashboard/ ./
RUN npm run build

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
# clang and libbpf headers: the node-agent's eBPF programs are C compiled with clang.
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang llvm libbpf-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
COPY --from=dashboard /dashboard/dist hub-lite/dashboard/dist
ENV SHARK_DASHBOARD_SKIP_BUILD=1
# Build each image binary the workspace has.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,sharing=locked \
    set -eu; mkdir -p /out; \
    for b in node-agent hub-lite; do \
      if cargo build --release --locked --bin "$b" 2>/tmp/err; then \
        cp "target/release/$b" /out/; echo "image: including $b"; \
      elif grep -q "no bin target named" /tmp/err; then \
        echo "image: $b is not a binary target in this workspace, skipping"; \
      else cat /tmp/err; exit 1; fi; \
    done; \
    strip --strip-debug /out/*

FROM debian:${DEBIAN_RELEASE}-slim
COPY --from=build /out/ /usr/local/bin/
LABEL org.opencontainers.image.source="https://github.com/kubectl-shark/kubectl-shark"
CMD ["/usr/local/bin/node-agent"]
