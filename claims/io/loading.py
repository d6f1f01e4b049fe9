"""Reading YAML and JSON text safely, with YAML 1.2 core-schema meaning.

PyYAML's SafeLoader speaks YAML 1.1: it reads the key ``on:`` as True and ``2023-02-30`` as a
date it then fails to build. Here only ``true``/``false`` are booleans, ``null``/``~`` is null,
integers are integers, and everything else, dates included, stays text for the importer to
validate. A key repeated in one mapping is an error (YAML 1.2 requires unique keys; PyYAML and
``json`` would silently keep the last). No tags construct objects, and aliases are bounded so a
document cannot expand into a bomb.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader, ReaderError
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from claims.domain.errors import ValidationError
from claims.io import strict_json

MAX_ALIASES = 100
MAX_YAML_CHARACTERS = 8 * 2**20
MAX_EXPANDED_NODES = 5_000_000


class CoreResolver(BaseResolver):
    """The YAML 1.2 core schema's implicit types: null, bool, int, float; nothing else."""


CoreResolver.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+0123456789."),
    ),
):
    CoreResolver.add_implicit_resolver(_tag, re.compile(_pattern), _first)


class CoreConstructor(SafeConstructor):
    """SafeConstructor without timestamps, sets or binary: plain data only."""

    def construct_yaml_int(self, node: Node) -> int:  # type: ignore[override]
        value = str(self.construct_scalar(node))  # type: ignore[arg-type]
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value)

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:  # type: ignore[override]
        """A mapping whose keys are unique, as YAML 1.2 requires (PyYAML keeps the last silently)."""
        pairs = list(node.value) if isinstance(node, MappingNode) else []
        mapping = super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]
        seen: set[Any] = set()
        for key_node, _ in pairs:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise ConstructorError(
                    "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return mapping


CoreConstructor.yaml_constructors = {
    tag: SafeConstructor.yaml_constructors[tag]
    for tag in (
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:str",
        "tag:yaml.org,2002:seq",
        "tag:yaml.org,2002:map",
    )
}
CoreConstructor.add_constructor("tag:yaml.org,2002:int", CoreConstructor.construct_yaml_int)
CoreConstructor.add_constructor(None, SafeConstructor.construct_undefined)  # type: ignore[arg-type]


class BoundedComposer(Composer):
    """Counts aliases while composing, so anchors and aliases cannot be used as a bomb."""

    aliases_seen = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):  # type: ignore[attr-defined]
            self.aliases_seen += 1
            if self.aliases_seen > MAX_ALIASES:
                raise ValidationError(f"document uses more than {MAX_ALIASES} aliases")
        return super().compose_node(parent, index)  # type: ignore[no-any-return]


class CoreLoader(Reader, Scanner, Parser, BoundedComposer, CoreConstructor, CoreResolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        BoundedComposer.__init__(self)
        CoreConstructor.__init__(self)
        CoreResolver.__init__(self)


def _expanded_size(node: Node, memo: dict[int, int]) -> int:
    """How many nodes the document holds once every alias is expanded."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a node that refers to itself counts once
    size = 1
    if isinstance(node, SequenceNode):
        size += sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    if size > MAX_EXPANDED_NODES:
        raise ValidationError(f"document expands to more than {MAX_EXPANDED_NODES} values (alias bomb?)")
    memo[key] = size
    return size


def load_yaml(text: str) -> Any:
    loader = CoreLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, {})
        return loader.construct_document(node)
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]


def load_text(text: str, *, name: str) -> Any:
    """Parse a claims document's text as JSON (when it looks like JSON) or YAML; one clear error.

    YAML is read in pure Python (0.3 to 2 MB/s), so a YAML document longer than
    MAX_YAML_CHARACTERS is refused before it is read; larger documents go in JSON.
    """
    try:
        if name.endswith(".json") or text.lstrip().startswith("{"):
            return strict_json.loads(text)
        if len(text) > MAX_YAML_CHARACTERS:
            raise ValidationError(
                f"a YAML document is limited to {MAX_YAML_CHARACTERS // 2**20} MiB; give larger documents as JSON"
            )
        return load_yaml(text)
    except ValidationError as error:
        raise ValidationError(f"{name}: {error}") from None
    except RecursionError:
        raise ValidationError(f"{name}: document is nested too deeply") from None
    except json.JSONDecodeError as error:
        raise ValidationError(
            f"{name}: not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ValidationError(f"{name}: not valid YAML: {error.problem or error.context}{where}") from None
    except ReaderError as error:
        raise ValidationError(
            f"{name}: not valid YAML: unacceptable character #x{error.character:04x} at position {error.position}"
            if isinstance(error.character, int)
            else f"{name}: not valid YAML: {error.reason} at position {error.position}"
        ) from None
    except yaml.YAMLError as error:
        raise ValidationError(f"{name}: not valid YAML: {' '.join(str(error).split())}") from None
    except (ValueError, KeyError) as error:
        # An explicit tag on a value it cannot take (``!!int 12x``, ``!!bool maybe``), or an integer
        # of more digits than Python converts (4300).
        shown = " ".join(str(error).split())[:200]
        raise ValidationError(f"{name}: not a valid document: a value cannot be read ({shown})") from None
