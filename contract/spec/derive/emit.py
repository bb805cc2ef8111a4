"""Serialise documents as stable YAML: insertion order kept, no timestamps, fixed width."""

from __future__ import annotations

from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """Block style everywhere; multi-line strings as `|` blocks, so diffs stay line-based."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not value.endswith((" ", "\t")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(document: Any, header: str) -> str:
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    return header.rstrip() + "\n" + body


def comment_header(lines: list[str]) -> str:
    return "\n".join(f"# {line}".rstrip() for line in lines) + "\n"
