"""The spec as other tools read it: Spectral and Redocly CLI lint both variants clean under
the configurations shipped at the root (.spectral.yaml, redocly.yaml); openapi-python-client
generates typed models from it — the list pages typed (S33), one class per named model —
whose every module imports and passes `mypy --strict`; datamodel-code-generator's models
require what a response holds (S39); openapi-typescript's types let `tsc --noEmit` read a
listed service's `links[0].href`; Dredd runs every transaction of the spec against the mock
(with the hooks we ship, tests/dredd_hooks.js) and all pass. The tools are installed by
`make test` into .venv/ecosystem (see the Makefile), at the versions it pins."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from contract.spec.variants import PROJECT_ROOT, SPEC_DIR, VARIANTS
from tests.servers import run_mock

TOOLS = PROJECT_ROOT / ".venv" / "ecosystem"
SPECS = sorted(str(SPEC_DIR / VARIANTS[name].spec_name) for name in VARIANTS)
IMPORT_EVERY_MODULE = """
import importlib, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    try:
        importlib.import_module(module.name)
    except Exception as error:
        print(f"{module.name.split('.', 1)[1]}: {type(error).__name__}: {error}")
"""


def _tool(*parts: str) -> Path:
    path = TOOLS.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} is missing: `make test` installs the ecosystem tools "
                    "(`make test`, or its ecosystem stamp)")
    return path


def _run(*command: str | Path, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    """Run a tool with its own environment's commands first on PATH (openapi-python-client
    calls its ruff)."""
    path = f"{TOOLS / 'python' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PATH": path})


def test_spectral_finds_nothing_in_either_variant():
    result = _run(_tool("node_modules", ".bin", "spectral"), "lint", "--fail-severity=hint",
                  "--ruleset", PROJECT_ROOT / ".spectral.yaml", *SPECS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No results with a severity of 'hint' or higher found!" in result.stdout


def test_redocly_finds_nothing_in_either_variant():
    result = _run(_tool("node_modules", ".bin", "redocly"), "lint", "--format", "json",
                  "--config", PROJECT_ROOT / "redocly.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    reports, text, decoder = [], result.stdout.strip(), json.JSONDecoder()
    while text:  # one JSON report per API of redocly.yaml, one after the other
        report, end = decoder.raw_decode(text)
        reports.append(report)
        text = text[end:].strip()
    assert len(reports) == len(SPECS)
    for report in reports:
        assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, report
    for spec in SPECS:  # both variants were linted
        assert Path(spec).relative_to(PROJECT_ROOT).as_posix() in result.stderr


def test_the_shipped_configs_turn_off_only_what_they_explain():
    """A rule turned off says why, in the comment just above it."""
    for config in (".spectral.yaml", "redocly.yaml"):
        lines = (PROJECT_ROOT / config).read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            if re.match(r"\s+[\w-]+: off$", line):
                assert lines[index - 1].lstrip().startswith("#"), f"{config}: {line.strip()}"


def one_patch_media_type(spec: Path, folder: Path) -> Path:
    """The spec as the pinned openapi-python-client can take it: the PATCH body with the
    media type its samples send alone. The spec declares the WADL's application/json too,
    as every real SDK sends it; given two, the generator writes a module that cannot
    import (`Unset` unknown). The tool's limit stays here, not in the spec."""
    document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    body = document["paths"]["/v1.0/{project_id}/services/{service_id}"]["patch"][
        "requestBody"]
    assert list(body["content"]) == ["application/json-patch+json", "application/json"]
    del body["content"]["application/json"]
    copy = folder / spec.name
    copy.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return copy


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_openapi_python_client_generates_typed_pages_that_pass_mypy(variant, tmp_path):
    python = _tool("python", "bin")
    spec = one_patch_media_type(SPEC_DIR / VARIANTS[variant].spec_name, tmp_path)
    result = _run(python / "openapi-python-client", "generate", "--path", spec,
                  "--output-path", tmp_path / "client", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    (package,) = (path.parent for path in (tmp_path / "client").glob("*/models"))
    models = package / "models"
    page = (models / "service_page.py").read_text(encoding="utf-8")
    assert re.search(r"^    services: list\[ServiceSummary\]$", page, re.MULTILINE), page
    assert re.search(r"^    links: list\[Link\]$", page, re.MULTILINE), page
    flavors = (models / "flavor_list.py").read_text(encoding="utf-8")
    assert re.search(r"^    flavors: list\[Flavor\]$", flavors, re.MULTILINE), flavors
    # one class per model of the spec: no per-operation copies of the service or its parts
    names = {path.stem for path in models.glob("*.py")} - {"__init__"}
    assert not [n for n in names if re.match(r"(get|create|patch)_.*(item|response_200)$", n)
                and n != "get_home_document_response_200"], sorted(names)
    assert {"service", "service_summary", "new_service", "domain", "new_domain", "origin",
            "new_origin", "link", "flavor", "provider", "error"} <= names
    imported = _run(python / "python", "-c", IMPORT_EVERY_MODULE, package.name,
                    cwd=package.parent)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == "", imported.stdout  # a line per module that did not import
    # PATCH: one body (two media types gave a module that could not import, `Unset` unknown)
    patch = (package / "api" / "services" / "patch_service.py").read_text(encoding="utf-8")
    assert '"Content-Type"] = "application/json-patch+json"' in patch, patch
    checked = _run(python / "mypy", "--strict", "--no-incremental", package, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


SAMPLES = VARIANTS["2016-08"].wadl_path.parent / "samples"
PYDANTIC_CHECK = """
import json, sys
import pydantic
import models
service = json.load(open(sys.argv[1]))
models.Service.model_validate(service)
refused = []
for name, body in (("Service", {}), ("ServicePage", {"services": [{}], "links": []}),
                   ("Flavor", {}), ("Link", {"rel": "self"})):
    try:
        getattr(models, name).model_validate(body)
    except pydantic.ValidationError:
        refused.append(name)
print(" ".join(refused))
"""


def test_datamodel_code_generator_models_require_what_a_response_holds_s39(tmp_path):
    """Pydantic models from datamodel-code-generator (PyPI) take the docs' service and refuse
    `{}` as a service, a page of `{}`, `{}` as a flavor and a link without `href` (before
    S39 every member was optional: all four passed)."""
    python = _tool("python", "bin")
    result = _run(python / "datamodel-codegen", "--input", SPECS[-1], "--input-file-type",
                  "openapi", "--output-model-type", "pydantic_v2.BaseModel", "--output",
                  tmp_path / "models.py", "--formatters", "ruff-format", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    checked = _run(python / "python", "-c", PYDANTIC_CHECK,
                   SAMPLES / "cdn-getService_response.json", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.split() == ["Service", "ServicePage", "Flavor", "Link"]


READER = """
import type { components, paths } from "./api";

type Listing = paths["/v1.0/{project_id}/services"]["get"];
type Page = Listing["responses"][200]["content"]["application/json"];
type Flavor = components["schemas"]["Flavor"];

export function firstHref(page: Page): string {
  return page.services[0].links[0].href;
}

export function providerUrl(flavor: Flavor): string {
  return flavor.providers[0].links[0].href;
}
"""


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_openapi_typescript_types_let_tsc_read_a_listed_service_link(variant, tmp_path):
    """openapi-typescript (npm) types the spec; `tsc --noEmit --strict` compiles a file that
    reads `services[0].links[0].href` and a provider's link (before S39, `links` was optional
    and a provider's links `Record<string, never>`: neither compiled)."""
    spec = SPEC_DIR / VARIANTS[variant].spec_name
    result = _run(_tool("node_modules", ".bin", "openapi-typescript"), spec, "--output",
                  tmp_path / "api.d.ts", cwd=tmp_path)  # not at the root: redocly.yaml
    assert result.returncode == 0, result.stdout + result.stderr
    (tmp_path / "reader.ts").write_text(READER, encoding="utf-8")
    compiled = _run(_tool("node_modules", ".bin", "tsc"), "--noEmit", "--strict",
                    "--target", "es2022", "--module", "nodenext", tmp_path / "reader.ts",
                    cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr


def test_dredd_runs_every_transaction_against_the_mock_and_all_pass(shared_reference):
    """Dredd 14 (npm) reads each parameter's `example` and, with our hooks (token, two
    services of its own, `Prefer: code=` for the statuses a request cannot provoke),
    runs the canonical spec's transactions against the mock: at least 100, none failing."""
    # --no-sample: the spec's create example names the docs' sample service's domain, which
    # a fresh mock holds (S37 refuses a second live service for it)
    with run_mock("2016-08", "--no-sample") as base:
        result = _run(_tool("node_modules", ".bin", "dredd"), SPECS[-1], base,
                      "--hookfiles", PROJECT_ROOT / "tests" / "dredd_hooks.js",
                      "--color", "false")
    complete = re.search(r"complete: (\d+) passing, (\d+) failing, (\d+) errors, "
                         r"(\d+) skipped, (\d+) total", result.stdout + result.stderr)
    assert complete, result.stdout + result.stderr
    passing, failing, errors, skipped, total = map(int, complete.groups())
    assert (failing, errors, skipped) == (0, 0, 0), result.stdout[-4000:]
    assert passing == total >= 100, complete.group(0)
