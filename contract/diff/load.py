"""Load any OpenAPI 3.x document for comparison, with errors a person can act on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from contract.errors import InputError
from contract.inputs import read_text
from contract.openapi import parse_yaml


def load_openapi(path: Path) -> dict[str, Any]:
    text = read_text(path, "an OpenAPI document")
    try:
        document = json.loads(text) if path.suffix == ".json" else parse_yaml(text)
    except json.JSONDecodeError as error:
        raise InputError(f"invalid JSON: {error.msg}", path, error.lineno) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise InputError(f"invalid YAML: {getattr(error, 'problem', error)}", path,
                         mark.line + 1 if mark else None) from None
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise InputError("not an OpenAPI 3.x document (no `openapi: 3.x` field)", path)
    return document
