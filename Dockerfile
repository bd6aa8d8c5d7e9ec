# syntax=docker/dockerfile:1
# One image for the three services; the command picks one:
#   docker run … signalcartel website | trading-engine | market-data   (and their subcommands)
# Build stage: the Swift toolchain builds the release binaries with the flags the scripts use
# (sc_release_build: --static-swift-stdlib, function sections, lld and the hot-function order
# from Package.swift).
FROM swift:6.1-bookworm AS build
WORKDIR /src
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsqlite3-dev=3.40.* \
    && rm -rf /var/lib/apt/lists/*
# Dependencies first, so a source change does not fetch them again.
COPY Package.swift ./
COPY linker ./linker
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
COPY benchmarks ./benchmarks
RUN swift build -c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections --product website \
    && swift build -c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections --product trading-engine \
    && swift build -c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections --product market-data \
    && mkdir -p /out \
    && cp .build/release/website .build/release/trading-engine .build/release/market-data /out/

# Runtime: Debian slim with only what the binaries load (the system libsqlite3, CA roots for
# Kraken and Telegram over TLS) and curl for the health check.
FROM debian:bookworm-slim
# CA roots unpinned on purpose: the release (bookworm) is the pin, and their updates must flow in.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsqlite3-0=3.40.* ca-certificates curl=7.88.* \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 signalcartel \
    && useradd --system --uid 10001 --gid signalcartel --home-dir /var/lib/signalcartel --create-home signalcartel \
    && mkdir -p /var/lib/signalcartel/data /var/lib/signalcartel/logs \
    && chown -R signalcartel:signalcartel /var/lib/signalcartel
COPY --from=build /out/ /usr/local/bin/
COPY deploy/docker/healthcheck.sh /usr/local/bin/signalcartel-healthcheck
WORKDIR /var/lib/signalcartel
ENV DATABASE_URL=sqlite:/var/lib/signalcartel/data/signalcartel.sqlite \
    SIGNALCARTEL_LOG_DIR=/var/lib/signalcartel/logs \
    WEBSITE_HOST=0.0.0.0 \
    METRICS_HOST=0.0.0.0
USER 10001:10001
EXPOSE 3001 9091 9092
# The services shut down gracefully on SIGTERM (heartbeat "stopped", streams drained).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["signalcartel-healthcheck"]
CMD ["website"]
