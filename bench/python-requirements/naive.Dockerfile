# (a) The guide's naive single-stage Dockerfile, with the dependencies
# installed into the image's Python.
FROM docker.io/library/python:3.13-slim-trixie
ARG PIP_INDEX_URL
COPY ./app /app
WORKDIR /app
RUN pip install --no-cache-dir -r requirements.txt
CMD ["python3", "main.py"]
