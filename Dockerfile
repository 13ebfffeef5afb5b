# hotpath's container image: hotpathd, the hotpath CLI and hotpath-check on Debian 12 slim,
# running as an unprivileged user. Build from the checkout's root:
#   docker build -t hotpath:0.1.0 .
#   docker run -p 7070:7070 -p 9464:9464 -v hotpath-data:/var/lib/hotpath hotpath:0.1.0
# tests/docker/dockerfile_test.py checks that the runtime stage installs every shared library
# the binaries link (it fails when a new dependency is not added here).

# --- build: the same bootstrap as a development machine, build-only packages -------------------
FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends make ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN bash scripts/bootstrap.sh --build-only \
 && cmake -S . -B build/image -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build/image -j"$(nproc)" --target hotpathd hotpath hotpath-check \
 && mkdir -p /out/bin /out/lib \
 && cp build/image/services/server/hotpathd build/image/tools/cli/hotpath \
       build/image/tools/check/hotpath-check /out/bin/ \
 && cp -P third_party/prefix/usr/lib/*/libprometheus-cpp-core.so* \
          third_party/prefix/usr/lib/*/libprometheus-cpp-pull.so* /out/lib/

# --- runtime: shared libraries only, no compiler, no shell tools beyond the base ---------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libabsl20220623 libc-ares2 libcivetweb1 libgrpc++1.51 libgrpc29 libjemalloc2 \
      libprotobuf32 libre2-9 libssl3 libyaml-cpp0.7 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# prometheus-cpp is not in Debian 12: Debian 13's build, as the bootstrap unpacked it.
COPY --from=build /out/lib/ /usr/local/lib/
RUN ldconfig
COPY --from=build /out/bin/ /usr/local/bin/
RUN groupadd --system --gid 10001 hotpath \
 && useradd --system --uid 10001 --gid hotpath --home-dir /var/lib/hotpath \
      --shell /usr/sbin/nologin hotpath \
 && mkdir -p /var/lib/hotpath \
 && chown hotpath:hotpath /var/lib/hotpath
USER 10001:10001
WORKDIR /var/lib/hotpath
VOLUME /var/lib/hotpath
EXPOSE 7070 9464
ENTRYPOINT ["/usr/local/bin/hotpathd"]
# Listening beyond loopback without TLS needs allow_plaintext (docs/security.md); with
# --config (the Helm chart's ConfigMap), the file decides.
CMD ["--server.grpc_address=0.0.0.0:7070", "--server.metrics_address=0.0.0.0:9464", \
     "--server.allow_plaintext=true", "--persistence.data_dir=/var/lib/hotpath/data"]
