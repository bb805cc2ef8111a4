# cdn-contract in a container. Dependencies come from a wheelhouse built beside this file,
# so the build needs no network:
#
#   python -m pip wheel --wheel-dir wheelhouse .
#   docker build -t cdn-contract .     # or: buildah bud --format docker -t cdn-contract .
#   docker run --rm -p 8080:8080 -p 8081:8081 cdn-contract   # the mock and its edge
#   docker run --rm cdn-contract conform --base-url https://cdn.example.net --checks api
#
# (buildah's default OCI format has no HEALTHCHECK: --format docker keeps it.)
# BASE is any image with Python 3.11 and its venv module (the wheelhouse's wheels are built
# for the Python that built them).
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG WHEELHOUSE=wheelhouse
COPY ${WHEELHOUSE}/ /tmp/wheelhouse/
RUN python3 -m venv /opt/cdn-contract \
    && /opt/cdn-contract/bin/pip install --no-cache-dir --no-index \
       --find-links /tmp/wheelhouse cdn-contract \
    && rm -rf /tmp/wheelhouse \
    && useradd --create-home --uid 10001 cdn
USER cdn
WORKDIR /home/cdn
ENV PATH=/opt/cdn-contract/bin:$PATH PYTHONUNBUFFERED=1
# the mock's API and its CDN edge
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=3s \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/__mock__/health', timeout=2)"]
ENTRYPOINT ["cdn-contract"]
CMD ["mock", "--host", "0.0.0.0", "--port", "8080", "--edge-port", "8081"]
