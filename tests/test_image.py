"""The container image, built for real with buildah from the project's Dockerfile and run:
its base is a Debian bookworm made by debootstrap from the archive this machine's apt uses
(no registry image can be pulled here), its dependencies come from a wheelhouse built on
the host, and the mock it runs answers a purge sent from the host.

The debootstrapped base is made once per machine: it stays in buildah's image store (outside
the checkout), tagged with a digest of what it is made from (the mirror, the suite, the
packages, the debootstrap version), and later runs reuse it; the image itself is built each
run, under a name of the run's own."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contract.spec.variants import PROJECT_ROOT
from tests.servers import free_port, wait_for_port

# One worker builds the image once for every test of the module (on two, each worker's
# fixture built its own, and their two in-tree wheel builds raced in build/)
pytestmark = [pytest.mark.xdist_group("image"), pytest.mark.long]

MIRROR = "http://deb.debian.org/debian"  # what /etc/apt/sources.list.d/debian.sources names
DEBOOTSTRAP = ["--variant=minbase", "--include=python3,python3-venv", "bookworm"]
IMAGE = f"localhost/cdn-contract-test:run{os.getpid()}"


def buildah(*args: str, timeout: float = 600) -> str:
    done = subprocess.run(["buildah", "--storage-driver", "vfs", *args], capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-3000:])
    return done.stdout.strip()


def base_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The debootstrapped base, from buildah's store when this machine made it before.
    Made under a lock of the machine's: two workers (or two checkouts' runs) that ask at
    once made it twice, ~100 s each, where the second now waits and finds it stored."""
    version = subprocess.run(["debootstrap", "--version"], capture_output=True, text=True,
                             timeout=30).stdout.strip()
    key = hashlib.sha256(repr((MIRROR, DEBOOTSTRAP, version)).encode()).hexdigest()[:16]
    name = f"localhost/cdn-contract-test-base:{key}"
    if stored(name):
        return name
    with machine_lock(f"cdn-contract-test-base-{key}"):
        if not stored(name):  # made while this one waited
            make_base(name, tmp_path_factory.mktemp("rootfs"))
    return name


@contextlib.contextmanager
def machine_lock(name: str) -> Iterator[None]:
    """An exclusive lock every process of the machine sees (flock on a file in the temporary
    folder): released when the holder ends, however it ends."""
    with open(Path(tempfile.gettempdir()) / f"{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def stored(name: str) -> bool:
    return subprocess.run(["buildah", "--storage-driver", "vfs", "inspect", "--type", "image",
                           name], capture_output=True, timeout=120).returncode == 0


def make_base(name: str, rootfs: Path) -> None:
    """debootstrap a root file system into `rootfs`, and commit it to buildah's store."""
    subprocess.run(["debootstrap", *DEBOOTSTRAP, str(rootfs), MIRROR], check=True,
                   capture_output=True, timeout=900)
    container = buildah("from", "scratch")
    mounted = Path(buildah("mount", container))
    subprocess.run(["cp", "-a", f"{rootfs}/.", str(mounted)], check=True, timeout=300)
    buildah("umount", container)
    buildah("commit", "--quiet", container, name)
    buildah("rm", container)
    shutil.rmtree(rootfs, ignore_errors=True)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The image, built from the Dockerfile with a debootstrapped base and a wheelhouse."""
    assert shutil.which("buildah") and shutil.which("debootstrap"), \
        "make test installs buildah and debootstrap (Debian packages)"
    base = base_image(tmp_path_factory)
    context = tmp_path_factory.mktemp("context")
    shutil.copy(PROJECT_ROOT / "Dockerfile", context / "Dockerfile")
    # Built from a copy: an in-tree build writes build/ in the checkout, where another
    # test's build (or a stale one) makes it fail
    source = shutil.copytree(PROJECT_ROOT, context / "source", ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir",
                    str(context / "wheelhouse"), str(source)], check=True,
                   capture_output=True, timeout=900)
    shutil.rmtree(source)
    buildah("bud", "--quiet", "--format", "docker", "--isolation", "chroot",  # docker: keeps
            "--build-arg", f"BASE={base}", "-t", IMAGE, str(context), timeout=900)  # HEALTHCHECK
    try:
        yield IMAGE
    finally:
        subprocess.run(["buildah", "--storage-driver", "vfs", "rmi", "--force", IMAGE],
                       capture_output=True, timeout=120)


def test_the_image_is_configured_for_users(image):
    config = buildah("inspect", "--type", "image", "--format",
                     "{{.OCIv1.Config.User}}|{{.OCIv1.Config.Entrypoint}}|"
                     "{{.OCIv1.Config.ExposedPorts}}|{{.Docker.Config.Healthcheck}}", image)
    user, entrypoint, ports, health = config.split("|")
    assert user == "cdn" and entrypoint == "[cdn-contract]"
    assert "8080/tcp" in ports and "8081/tcp" in ports
    assert "/__mock__/health" in health


def test_the_mock_runs_in_the_image_and_answers_a_purge_from_the_host(image):
    container, port = buildah("from", image), free_port()
    server = subprocess.Popen(["buildah", "--storage-driver", "vfs", "run", "--isolation",
                               "chroot", "--user", "cdn", container, "--",
                               "/opt/cdn-contract/bin/cdn-contract", "mock", "--port",
                               str(port), "--time-scale", "0.01", "--quiet"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, timeout=60)
        base, token = f"http://127.0.0.1:{port}", {"X-Auth-Token": "t"}
        created = httpx.post(f"{base}/v1.0/p1/services", headers=token, json={
            "name": "site", "domains": [{"domain": "www.site.example"}],
            "origins": [{"origin": "origin.site.example"}], "flavor_id": "cdn",
            "log_delivery": {"enabled": False}})
        service = created.headers["Location"].rsplit("/", 1)[-1]
        purged = httpx.delete(f"{base}/v1.0/p1/services/{service}/assets",
                              params={"url": "/logo.png"}, headers=token)
        assert (created.status_code, purged.status_code) == (202, 202), purged.text
    finally:
        server.terminate()  # buildah passes it on to the mock, which stops cleanly
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=20)
        subprocess.run(["pkill", "-f", f"cdn-contract mock --port {port} "], timeout=10)
        server.kill()
        subprocess.run(["buildah", "--storage-driver", "vfs", "rm", container],
                       capture_output=True, timeout=120)


def test_the_documented_buildah_build_keeps_the_health_check():
    """The install page's and the Dockerfile's buildah command build as the image test does, in
    Docker's format (the OCI format drops HEALTHCHECK)."""
    for document in (PROJECT_ROOT / "docs" / "install.md", PROJECT_ROOT / "Dockerfile"):
        builds = [line for line in document.read_text().splitlines() if "buildah bud" in line]
        assert builds and all("--format docker" in line for line in builds), document


def test_two_workers_asking_for_the_base_at_once_make_it_once(monkeypatch, tmp_path_factory):
    """Issue 46, item 9: `make test` took 11 min on a fresh clone, two workers each
    debootstrapping the base at once; the second now waits for the first's and reuses it."""
    made: list[str] = []
    monkeypatch.setattr(sys.modules[__name__], "stored", lambda name: name in made)

    def slow_make(name: str, rootfs: Path) -> None:
        time.sleep(0.5)  # long enough for the other worker to ask meanwhile
        made.append(name)

    monkeypatch.setattr(sys.modules[__name__], "make_base", slow_make)
    names: list[str] = []
    workers = [threading.Thread(target=lambda: names.append(base_image(tmp_path_factory)))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert len(names) == 2 and names[0] == names[1] and made == names[:1]
