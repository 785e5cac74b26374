# syntax=docker/dockerfile:1
#
# The sports service image: a static Go binary on scratch, as non-root.
#
#   docker build -t osms/sports-service \
#     --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg BUILD_TIME=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
#
# The image has no embedded database (build tag noembed): it needs MONGODB_URI
# (docker-compose.yaml points it at the mongo service). Build tag nomsgpack
# leaves out Gin's MessagePack binding, which the API (JSON through Huma) never
# uses: 6 MB less binary.

ARG GO_VERSION=1.26.8

# The build runs on the builder's own platform and cross-compiles (CGO is off),
# so a multi-platform build does not emulate the compiler.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src

# Dependencies first, in their own layer: editing a .go file does not download
# them again. The cache mount keeps the module cache across builds too.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .

ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_TIME=unknown
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -tags noembed,nomsgpack \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.buildTime=${BUILD_TIME}" \
      -o /out/sports-service .

# What the runtime needs besides the binary: CA certificates (for a MongoDB,
# an OTLP collector or a Eureka server reached over TLS) and a passwd/group
# entry for the unprivileged user "nonroot" (65532, distroless's), with no
# shell. Nothing else: the binary is static, logs in UTC and writes no files.
RUN mkdir -p /out/rootfs/etc/ssl/certs \
 && cp /etc/ssl/certs/ca-certificates.crt /out/rootfs/etc/ssl/certs/ \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /out/rootfs/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' > /out/rootfs/etc/group

# scratch rather than distroless/static-debian12 (about 2 MiB of tzdata,
# os-release and package metadata the service does not read): the image is
# the binary plus 0.2 MB, under the 30 MB target.
FROM scratch AS runtime

ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_TIME=unknown
LABEL org.opencontainers.image.title="sports-service" \
      org.opencontainers.image.description="Online sports management system (Gin)" \
      org.opencontainers.image.source="https://github.com/osms/sports-service" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${BUILD_TIME}"

COPY --from=build /out/rootfs/ /
COPY --from=build /out/sports-service /sports-service

USER 65532:65532
ENV LISTEN_ADDR=:8000
EXPOSE 8000

# `sports-service healthcheck` GETs /health/ready on the LISTEN_ADDR port and
# exits 0 only on 200 (the database answers).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["/sports-service", "healthcheck"]

# The service drains in-flight requests on SIGTERM (SHUTDOWN_TIMEOUT, 15s);
# compose's stop_grace_period is longer than that.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/sports-service"]
