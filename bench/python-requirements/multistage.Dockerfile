# (b) The guide's hand-written multi-stage distroless Dockerfile, written
# carefully: the build stage copies only requirements.txt before
# `pip install --target` (so a code edit keeps the install cached) with a
# cache mount for pip; the deploy stage copies site-packages and the app.
FROM docker.io/library/python:3.13-slim-trixie AS build-env
ARG PIP_INDEX_URL
COPY ./app/requirements.txt /requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --disable-pip-version-check --target /site-packages -r /requirements.txt

FROM gcr.io/distroless/python3-debian13
COPY --from=build-env /site-packages /opt/site-packages
COPY ./app /app
WORKDIR /app
ENV PYTHONPATH=/opt/site-packages
USER 65532:65532
ENTRYPOINT ["python3.13", "main.py"]
