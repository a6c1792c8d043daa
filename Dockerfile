# syntax=docker/dockerfile:1
# Parley: a static binary on a distroless base, run as a non-root user.
#
#   docker build -t parley .
#   docker run -p 8080:8080 -v parley-data:/data parley

FROM golang:1.26.11 AS build
WORKDIR /src
# The image's toolchain is the one go.mod asks for: never fetch another.
ENV GOTOOLCHAIN=local CGO_ENABLED=0
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN go build -trimpath -ldflags "-s -w -X github.com/parleychat/parley/internal/app.Version=${VERSION}" \
        -o /out/parley ./cmd/parley \
    && mkdir -p /out/data/attachments

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/parley /usr/local/bin/parley
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV PARLEY_HTTP_ADDR=0.0.0.0:8080 \
    PARLEY_DATABASE_URL=sqlite:/data/parley.db \
    PARLEY_ATTACHMENTS_DIR=/data/attachments
WORKDIR /data
VOLUME /data
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/parley"]
CMD ["serve"]
