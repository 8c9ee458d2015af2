"""Reading and writing the catalog YAML.

Reading keeps money exact (a YAML float becomes a `Decimal` built from its text, never a binary
float) and rejects a key written twice in one mapping (PyYAML would keep the last one silently).
Writing prints money with at most two decimals, hours as `HH:MM-HH:MM` and a day off as `off`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode

from bot.catalog.checks import CatalogError, Issue
from bot.catalog.schema import CatalogFile, Off

HEADER = (
    "# Booking bot catalog: locations, services, specialists and their schedules.\n"
    "# Load it with: python -m bot catalog import FILE.yaml (the file is the desired state).\n"
)


class _Loader(yaml.SafeLoader):
    pass


def _construct_decimal(loader: yaml.SafeLoader, node: Node) -> object:
    assert isinstance(node, ScalarNode)
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        # `.inf`, `.nan` and the like: the schema rejects them with a readable message.
        return text


def _construct_mapping(loader: yaml.SafeLoader, node: Node) -> dict[Any, Any]:
    assert isinstance(node, MappingNode)
    loader.flatten_mapping(node)
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise ConstructorError(
                None, None, f"the key {key!r} is written twice", key_node.start_mark
            )
        seen.add(key)
    return dict(loader.construct_pairs(node, deep=True))


def _construct_timestamp(loader: yaml.SafeLoader, node: Node) -> object:
    try:
        return loader.construct_yaml_timestamp(node)  # type: ignore[arg-type]
    except ValueError:
        # 2026-13-01 looks like a date but is none: the schema says so, with the entry.
        return loader.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def load_yaml(text: str) -> object:
    """Parse YAML text; a syntax error becomes a `CatalogError` with the line and column."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        problem = exc.problem or str(exc)
        raise CatalogError([Issue(where, "", f"invalid YAML: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise CatalogError([Issue("file", "", f"invalid YAML: {exc}")]) from None


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key: easier to read and to edit by hand.
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        # Shared objects (the one `off` marker) must be written out, not as &id001 anchors.
        return True


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> Node:
    if value == value.to_integral_value():
        return dumper.represent_scalar("tag:yaml.org,2002:int", str(int(value)))
    return dumper.represent_scalar("tag:yaml.org,2002:float", f"{value:.2f}")


def _represent_off(dumper: yaml.SafeDumper, _value: Off) -> Node:
    # A bare `off`: YAML 1.1 reads it back as false, which the schema takes as a day off.
    return dumper.represent_scalar("tag:yaml.org,2002:bool", "off")


_Dumper.add_representer(Decimal, _represent_decimal)
_Dumper.add_representer(Off, _represent_off)


def dump_catalog(catalog: CatalogFile) -> str:
    """The catalog as YAML text: the same output for the same catalog, byte for byte."""
    data = catalog.model_dump(mode="python", exclude_defaults=True)
    document = {"version": catalog.version, **data}
    body = yaml.dump(
        document,
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=100,
    )
    # A blank line before each top-level section, as a person would write it.
    return HEADER + re.sub(r"\n(?=\S)", "\n\n", body)
