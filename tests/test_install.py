"""cdn-contract as a user installs it: the wheel and the sdist built from this checkout, the
wheel installed into a fresh virtual environment outside it, every command run from an empty
folder with no reference material, under a guard that fails the command on any file of the
checkout it opens."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from contract.spec.variants import PROJECT_ROOT
from tests.servers import free_port, wait_for_port

pytestmark = pytest.mark.long  # the wheel built and installed (module fixtures)

# Runs a command of the installed package; any open() of a file of the checkout ends the
# process with 97 and says which (the audit hook sees the opens of the process and of the
# processes it forks; schemathesis' workers included).
GUARD = """
import os, sys
checkout = os.path.realpath(sys.argv.pop(1)) + os.sep
def guard(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)):
        path = os.path.realpath(os.fsdecode(args[0]))
        if path.startswith(checkout):
            os.write(2, f"read from the checkout: {path}\\n".encode())
            os._exit(97)
sys.addaudithook(guard)
sys.argv[0] = "cdn-contract"
from contract.cli import main
main()
"""
PURGE = (b"DELETE /v1.0/110011/services/96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0/assets"
         b"?url=/images/logo.png HTTP/1.1\r\nHost: cdn.example\r\nX-Auth-Token: t\r\n\r\n")
ACCEPTED = (b"HTTP/1.1 202 Accepted\r\nLocation: https://cdn.example/v1.0/services/"
            b"96737ae3-cfc1-4c72-be88-5d0e7cc9a3f0\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The wheel and the sdist, built with `python -m build` from this checkout."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir",
                           str(out), str(PROJECT_ROOT)], check=True, capture_output=True,
                          text=True, timeout=300)
    (out / "build.log").write_text(done.stdout + done.stderr)
    (wheel,), (sdist,) = out.glob("*.whl"), out.glob("*.tar.gz")
    return wheel, sdist


@pytest.fixture(scope="module")
def installed(built: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel and its dependencies (from the package
    index, as a user gets them); the python that runs it."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=False)
    python = home / "bin" / "python"
    # this pip installs into it (`--python`), pip itself included (the action's first step
    # runs it), without compiling what no command imports: 9 s of CPU, where ensurepip and
    # the environment's own pip took 24 s
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                    "--quiet", "--no-compile", "pip", str(built[0])],
                   check=True, capture_output=True, timeout=600)
    return python


@pytest.fixture
def cdn(installed: Path, tmp_path: Path) -> Iterator[tuple[list[str], Path, dict[str, str]]]:
    """How to run the installed command under the guard, from an empty folder, with no
    CDN_CONTRACT_SHARED."""
    guard = tmp_path / "guard.py"
    guard.write_text(GUARD)
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CDN_CONTRACT") and k != "PYTHONPATH"}
    yield [str(installed), str(guard), str(PROJECT_ROOT)], work, env


def test_the_wheel_and_the_sdist_carry_the_contract(built):
    wheel, sdist = built
    names = set(zipfile.ZipFile(wheel).namelist())
    for variant in ("2015_08", "2016_08"):
        assert f"contract/shipped/server/cdn_{variant}/checks.py" in names
        assert f"contract/shipped/spec/cdn-{variant.replace('_', '-')}.openapi.yaml" in names
    assert "contract/shipped/spec/overlays/common.overlay.yaml" in names
    templates = sorted(p.relative_to(PROJECT_ROOT / "contract").as_posix() for p in
                       (PROJECT_ROOT / "contract/codegen/templates").rglob("*.j2"))
    assert templates and {f"contract/{t}" for t in templates} <= names
    # the template folders are declared, so the build has nothing to warn about
    log = (wheel.parent / "build.log").read_text()
    assert "absent from the `packages` configuration" not in log
    assert not [n for n in names if n.startswith(("tests/", "generated/", "spec/"))]
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    assert {"spec/cdn-2016-08.openapi.yaml", "generated/server/cdn_2016_08/app.py",
            "pyproject.toml"} <= members


def test_the_package_list_names_every_package():
    """pyproject.toml lists the packages (the shipped ones are mapped from spec/ and
    generated/): a new package of contract/ must be added there too."""
    listed = set(tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"][
        "setuptools"]["packages"])
    found = {".".join(p.relative_to(PROJECT_ROOT).parent.parts)
             for p in (PROJECT_ROOT / "contract").rglob("__init__.py")}
    assert found <= listed, found - listed


def test_every_command_runs_from_the_installed_wheel_alone(cdn, tmp_path):
    command, work, env = cdn

    def run(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*command, *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == code, (args, done.stdout[-2000:], done.stderr[-2000:])
        return done

    assert run("--version").stdout.startswith("cdn-contract, version ")
    (work / "purge-request.txt").write_bytes(PURGE)  # a raw exchange: request, response
    (work / "purge-response.txt").write_bytes(ACCEPTED)
    assert "2016-08  valid" in run("validate", "purge-request.txt", "purge-response.txt").stdout
    diffed = run("diff", "2015-08", "2016-08", "--fail-on", "none").stdout
    assert "hard" in diffed and "change(s)" in diffed
    run("generate", "client", "--variant", "2016-08", "-q")
    assert (work / "generated/client/cdn-client-2016-08/pyproject.toml").is_file()
    derived = run("derive", "--check", code=2)
    assert "CDN_CONTRACT_SHARED" in derived.stderr and "Traceback" not in derived.stderr
    assert "run it in a clone" in run("trace", "--check", code=2).stderr

    port = free_port()
    server = subprocess.Popen([*command, "mock", "--port", str(port), "--time-scale", "0.01",
                               "--tokens", "t", "--quiet"], cwd=work, env=env,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        created = httpx.post(f"{base}/v1.0/p1/services", headers={"X-Auth-Token": "t"}, json={
            "name": "site", "domains": [{"domain": "www.site.example"}],
            "origins": [{"origin": "origin.site.example"}], "flavor_id": "cdn",
            "log_delivery": {"enabled": False}})
        service = created.headers["Location"].rsplit("/", 1)[-1]
        purged = httpx.delete(f"{base}/v1.0/p1/services/{service}/assets",
                              params={"url": "/logo.png"}, headers={"X-Auth-Token": "t"})
        assert (created.status_code, purged.status_code) == (202, 202)
        options = ["--base-url", base, "--token", "t", "--checks", "api", "--rate-limit-check",
                   "--max-examples", "1", "--seed", "7", "--json"]
        conformed = run("conform", *options, str(work / "installed.json"))
        subprocess.run([sys.executable, "-m", "contract", "conform", *options,
                        str(work / "checkout.json")], cwd=PROJECT_ROOT, capture_output=True,
                       timeout=300)  # the same suite, from the checkout
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0, server.stderr.read() if server.stderr else ""
    assert "2016-08: CONFORMS" in conformed.stdout
    installed, checkout = (_verdicts(work / f"{name}.json") for name in ("installed", "checkout"))
    assert installed == checkout and len(installed) > 30


def test_every_module_import_is_a_declared_dependency():
    """What contract/ imports from outside the standard library is in the wheel's
    dependencies (the installed test would only catch it where a command reaches it)."""
    declared = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"]
    names = {d.split(";")[0].split("[")[0].split(">")[0].split("=")[0].strip().lower()
             for d in declared}
    provides = {"yaml": "pyyaml", "jsonpath_ng": "jsonpath-ng", "openapi_core": "openapi-core",
                "openapi_spec_validator": "openapi-spec-validator", "re2": "google-re2",
                "swagger_ui": "swagger-ui-py", "psycopg": "psycopg",
                # what conform uses through schemathesis, and derive through jsonschema
                "hypothesis": "schemathesis", "requests": "schemathesis",
                "pytest": "schemathesis", "referencing": "jsonschema",
                 "markdown_it": "markdown-it-py"}
    imported = set()
    for path in (PROJECT_ROOT / "contract").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {name for name in imported - set(sys.stdlib_module_names)
                   if name not in ("contract", "generated", "tests", "__future__")}
    undeclared = {name for name in third_party if provides.get(name, name) not in names}
    assert not undeclared, undeclared


def _verdicts(report: Path) -> dict[str, str]:
    """Each statement's verdict in a conform JSON report."""
    (variant,) = json.loads(report.read_text())["variants"]
    return {statement["id"]: statement["status"] for statement in variant["statements"]}


EXPRESSION = re.compile(r"\$\{\{\s*(inputs|runner)\.([\w-]+)\s*\}\}")


def test_the_ci_action_runs_as_written(installed, built, tmp_path):
    """The shell steps of action.yml, in order, with GitHub's shell and the expressions of
    their `env` filled in as the runner does, against a mock run from the installed wheel;
    the steps that `use` another action (the upload) are what they cannot run here."""
    action = yaml.safe_load((PROJECT_ROOT / "action.yml").read_text())
    port, reports = free_port(), tmp_path / "runner-temp"
    reports.mkdir()
    given = {"base-url": f"http://127.0.0.1:{port}", "token": "t", "package": str(built[0]),
             "args": "--rate-limit-check --max-examples 1 --seed 7"}
    inputs = {name: given.get(name, spec.get("default", "")) for name, spec
              in action["inputs"].items()}
    values = {"inputs": inputs, "runner": {"temp": str(reports)}}
    outputs = tmp_path / "github-output"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDN_CONTRACT")}
    env.update(PATH=f"{installed.parent}{os.pathsep}{env['PATH']}", GITHUB_OUTPUT=str(outputs))
    server = subprocess.Popen([str(installed.parent / "cdn-contract"), "mock", "--port",
                               str(port), "--time-scale", "0.01", "--tokens", "t", "--quiet"],
                              cwd=tmp_path, env=env)
    try:
        wait_for_port(port)
        ran = []
        for step in action["runs"]["steps"]:
            if "run" not in step:
                continue
            step_env = {name: EXPRESSION.sub(lambda m: values[m[1]][m[2]], str(value))
                        for name, value in step.get("env", {}).items()}
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                                   step["run"]], cwd=tmp_path, env={**env, **step_env},
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, (step["name"], done.stdout[-3000:], done.stderr[-2000:])
            ran.append(step["name"])
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert ran == ["Install cdn-contract", "Conform"]
    assert f"junit={reports}/cdn-contract.xml" in outputs.read_text()
    junit = (reports / "cdn-contract.xml").read_text()
    assert 'failures="0"' in junit and (reports / "cdn-contract.html").is_file()
