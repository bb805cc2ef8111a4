"""The two doc variants of the contract, and where their inputs live.

- 2015-08: the WADL of 2015-08-31, the docs as generated from it (`hard` defaults to false).
- 2016-08 (canonical): the last WADL (2015-10-28) plus what only the published reference of
  2016-08 says (rate limit, purge/invalidation rules, absolute limits), brought in by an
  OpenAPI Overlay, and the two SSL-certificate operations only its pages have (an overlay
  of their own, applied before the common one).
Both also get `spec/overlays/common.overlay.yaml`: traceability and the general API rules
that hold in both.
"""

from __future__ import annotations

import importlib
import importlib.resources
import importlib.util
import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from contract.openapi import parse_yaml

if TYPE_CHECKING:
    from contract.model import Contract

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# A checkout (this package beside pyproject.toml and spec/) reads and writes its own files;
# an installed wheel reads the copies it ships in contract/shipped/ (the specs, their
# overlays, the generated server checks), and writes what it generates under the working
# directory.
IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "spec").is_dir()
SHIPPED = "contract.shipped"
SPEC_DIR = PROJECT_ROOT / "spec" if IN_CHECKOUT else \
    Path(str(importlib.resources.files(SHIPPED) / "spec"))
GENERATED_DIR = PROJECT_ROOT / "generated" if IN_CHECKOUT else Path("generated")
OVERLAY_DIR = SPEC_DIR / "overlays"
COMMON_OVERLAY = OVERLAY_DIR / "common.overlay.yaml"


def shared_dir() -> Path:
    """`../shared` beside the checkout, or `$CDN_CONTRACT_SHARED`."""
    configured = os.environ.get("CDN_CONTRACT_SHARED")
    return Path(configured) if configured else PROJECT_ROOT.parent / "shared"


def reference_dir() -> Path:
    return shared_dir() / "reference"


SHARED_HINT = ("put the project's shared folder beside the checkout as ../shared, or point "
               "CDN_CONTRACT_SHARED at it" if IN_CHECKOUT else "derive reads the WADLs and "
               "CONTRACT-NOTES.md of the reference material: point CDN_CONTRACT_SHARED at the "
               "folder that holds them (or give --wadl); every other command runs on the "
               "specs this installation carries")


def require_shared() -> None:
    """InputError, with how to fix it, when the reference material is not where we look."""
    from contract.errors import InputError

    if not reference_dir().is_dir():
        raise InputError(f"the reference material is not there: {SHARED_HINT}",
                         reference_dir())


def notes_path() -> Path:
    return shared_dir() / "CONTRACT-NOTES.md"


@dataclass(frozen=True)
class Variant:
    name: str
    wadl: str  # relative to the reference folder
    overlay: str  # the variant's own overlay, in spec/overlays/
    canonical: bool
    summary: str
    # operations only the variant's published pages have, in spec/overlays/: applied before
    # the common overlay, so that its general rules reach them as every other operation
    pages: str = ""

    @property
    def wadl_path(self) -> Path:
        return reference_dir() / self.wadl

    @property
    def pages_path(self) -> Path | None:
        return OVERLAY_DIR / self.pages if self.pages else None

    @property
    def overlay_path(self) -> Path:
        return OVERLAY_DIR / self.overlay

    @property
    def spec_name(self) -> str:
        return f"cdn-{self.name}.openapi.yaml"


VARIANTS: dict[str, Variant] = {
    "2015-08": Variant(
        name="2015-08",
        wadl="rackspace-cdn/2015-08-31/wadl/cdn-devguide.wadl",
        overlay="2015-08.overlay.yaml",
        canonical=False,
        summary="The API as documented by the WADL of 2015-08-31 (the WADL-generated reference "
                "page): `hard` defaults to `false`, no rate limit on purges.",
    ),
    "2016-08": Variant(
        name="2016-08",
        wadl="rackspace-cdn/2015-10-28/wadl/cdn-devguide.wadl",
        overlay="2016-08.overlay.yaml",
        pages="2016-08.pages.overlay.yaml",
        canonical=True,
        summary="The canonical contract: the WADL of 2015-10-28 plus the published reference of "
                "2016-08 (`hard` defaults to `true`, 20 purge requests per minute, purge and "
                "invalidation rules, absolute limits, SSL certificates).",
    ),
}
CANONICAL = next(v for v in VARIANTS.values() if v.canonical)


def server_package(variant: str) -> str:
    """The generated stub server's package of a variant, in generated/server/."""
    return "cdn_" + variant.replace("-", "_")


def generated_server(variant: str, part: str = "") -> ModuleType:
    """The generated stub server of a variant (`generated/server/cdn_<variant>/`), or one of
    its modules (`part`: "app", "checks", "responses"). It lives beside the package, not in
    it: it is an output of `cdn-contract generate server`. A checkout's copy is loaded from
    its folder under the name the wheel ships it as (`contract.shipped.server.cdn_<variant>`),
    so loading it puts nothing on sys.path: the checkout's other folders (tests, benchmarks)
    stay unimportable and cannot shadow an installed package."""
    name = f"{SHIPPED}.server.{server_package(variant)}"
    if IN_CHECKOUT and name not in sys.modules:
        _load_checkout_package(name, GENERATED_DIR / "server" / server_package(variant))
    return importlib.import_module(f"{name}.{part}" if part else name)


def _load_checkout_package(name: str, package: Path) -> None:
    """Register the package in `package` as `name`: its relative imports (`.routes`) then
    resolve inside the folder, as they would in the wheel."""
    from contract.errors import InputError

    init = package / "__init__.py"
    if not (package / "app.py").is_file() or not init.is_file():
        raise InputError(f"{package} is missing: run `cdn-contract generate server`")
    spec = importlib.util.spec_from_file_location(
        name, init, submodule_search_locations=[str(package)])
    assert spec is not None and spec.loader is not None  # a .py file always has a loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise


@cache
def load_document(variant: str, spec_dir: Path = SPEC_DIR) -> dict[str, Any]:
    """The derived OpenAPI document of a variant (spec/cdn-<variant>.openapi.yaml)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r} (known: {', '.join(VARIANTS)})")
    path = spec_dir / VARIANTS[variant].spec_name
    document: dict[str, Any] = parse_yaml(path.read_text(encoding="utf-8"))
    return document


@cache
def load_contract(variant: str) -> Contract:
    """The typed facts of a variant's derived spec (see contract.model)."""
    from contract.model import read_contract

    return read_contract(load_document(variant))
