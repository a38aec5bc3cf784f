# (a) The guide's naive single-stage Dockerfile for its basic example:
# everything on the python slim image, shell and tools included.
FROM docker.io/library/python:3.13-slim-trixie
COPY ./app /app
WORKDIR /app
CMD ["python3", "boom.py", "--loops", "3", "--delay", "0.2"]
