# (b) The guide's hand-written multi-stage distroless Dockerfile for its
# basic example. There are no requirements, so the build stage only holds
# the app, as in the guide, and the deploy stage copies it.
FROM docker.io/library/python:3.13-slim-trixie AS build-env
COPY ./app /app

FROM gcr.io/distroless/python3-debian13
COPY --from=build-env /app /app
WORKDIR /app
ENV GREETING=hello
USER 65532:65532
ENTRYPOINT ["python3.13", "boom.py", "--loops", "3", "--delay", "0.2"]
