"""The floor plan matches the pipeline: the import contracts of pyproject.toml
([tool.importlinter]: only the CLI imports the mock; the checks runtime stands on the model
alone; the validators reach into nothing that serves or judges) hold, the generated checks
import only that runtime, and every package says which stage it is."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from contract.spec.variants import GENERATED_DIR, PROJECT_ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_the_import_contracts_hold():
    result = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and "3 kept" in result.stdout, result.stdout


def _imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_generated_checks_import_only_the_checks_runtime():
    """checks.py, responses.py and routes.py are what the validators run: they must not
    bring the mock with them (only `contract.checks`, and the model's classes for the
    contract's facts). The package imports nothing until an app is asked for; app.py is the
    mock's."""
    allowed = {"checks.py": ("contract.checks",), "responses.py": ("contract.checks",),
               "routes.py": ("contract.checks", "contract.model")}
    for name, prefixes in allowed.items():
        paths = sorted((GENERATED_DIR / "server").glob(f"cdn_*/{name}"))
        assert len(paths) == 2, name
        for path in paths:
            ours = {m for m in _imported(path) if m.split(".")[0] == "contract"}
            assert ours and all(m.startswith(prefixes) for m in ours), (path, ours)
    code = ("import sys; from contract.spec.variants import generated_server; "
            "generated_server('2016-08', 'routes'); generated_server('2016-08', 'responses'); "
            "print(sorted(m for m in sys.modules if m.startswith('contract.mock')))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=60)
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr


def test_only_the_reference_validator_loads_openapi_core():
    """openapi-core is the oracle (`contract.validation.reference`), not a part of what
    serves: the mock, the proxy and the compiled validator start without it (it took a
    third of a second at every mock's start, ~80 in the suite)."""
    code = ("import sys, contract.mock.serve, contract.proxy.server, "
            "contract.validation.compiled; print('openapi_core' in sys.modules); "
            "import contract.validation.reference; print('openapi_core' in sys.modules)")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=60)
    assert loaded.stdout.split() == ["False", "True"], loaded.stdout + loaded.stderr


def test_loading_a_variant_leaves_sys_path_alone():
    """The generated server is loaded from its folder: a fresh interpreter started in the
    checkout (without its folder on sys.path, `-P`) loads a variant and can still not import
    the checkout's other folders by their bare names."""
    code = ("import sys; before = list(sys.path); from contract.spec.variants import "
            "generated_server; generated_server('2016-08', 'routes'); "
            "generated_server('2015-08').create_app; assert sys.path == before, sys.path\n"
            "try:\n import tests\nexcept ImportError: print('tests not importable')\n"
            "else: print('imported', tests.__path__)")
    loaded = subprocess.run([sys.executable, "-P", "-c", code], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert loaded.stdout.strip() == "tests not importable", loaded.stdout + loaded.stderr


def test_every_package_says_which_stage_it_is():
    for init in sorted((PROJECT_ROOT / "contract").rglob("__init__.py")):
        if "shipped" in init.parts or "templates" in init.parts:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 8, f"{init.relative_to(PROJECT_ROOT)} says nothing"
