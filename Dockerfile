# The shabunble frontend image. It is unenterable too: FROM scratch, one
# static binary, no shell. The binary is built on the host first (see the
# Makefile's frontend-bin target), because a Go builder image may not be
# reachable:
#   CGO_ENABLED=0 go build -trimpath -o bin/linux_amd64/shabunble-frontend ./cmd/shabunble-frontend
FROM scratch
ARG TARGETOS=linux
ARG TARGETARCH=amd64
COPY --chmod=0555 bin/${TARGETOS}_${TARGETARCH}/shabunble-frontend /bin/shabunble-frontend
LABEL moby.buildkit.frontend.network.none="true"
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts"
USER 65532:65532
ENTRYPOINT ["/bin/shabunble-frontend"]
