"""Reading YAML and JSON text safely, with YAML 1.2 core-schema meaning.

PyYAML's SafeLoader speaks YAML 1.1: it reads the key ``on:`` as True and ``2023-02-30`` as a
date it then fails to build. Here only ``true``/``false`` are booleans, ``null``/``~`` is null,
integers are integers, and everything else, dates included, stays text for the importer to
validate. A key repeated in one mapping is an error (YAML 1.2 requires unique keys; PyYAML and
``json`` would silently keep the last). No tags construct objects, and aliases are bounded so a
document cannot expand into a bomb.

A claims document (``load_text``) is read with one difference: no field of it is a number, so an
integer keeps the text it was written as (``007``, ``0x7E7``, ``+12``), where the core schema
would respell it (``7``, ``2023``, ``12``) and store what the user never wrote (see
``DocumentConstructor``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, SequenceNode
from yaml.parser import Parser, ParserError
from yaml.reader import Reader, ReaderError
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner, ScannerError

from claims.domain.errors import ValidationError
from claims.domain.ids import shown
from claims.io import strict_json

MAX_ALIASES = 100
MAX_YAML_CHARACTERS = 8 * 2**20
MAX_EXPANDED_NODES = 5_000_000
# The core schema's integers: decimal (with a sign), octal and hexadecimal. ``\Z``, not ``$``,
# which also matches before a final newline (``!!int "12\n"``).
CORE_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z")


class CoreResolver(BaseResolver):
    """The YAML 1.2 core schema's implicit types: null, bool, int, float; nothing else."""


CoreResolver.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", CORE_INT.pattern, list("-+0123456789")),
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
        """The integer, or for a decimal one of more digits than Python converts, the words JSON's
        reader uses (rather than Python's advice to call ``sys.set_int_max_str_digits()``)."""
        value = str(self.construct_scalar(node))  # type: ignore[arg-type]
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        try:
            return int(value)
        except ValueError:
            if CORE_INT.match(value):  # digits only, and still refused: too many of them
                raise ValidationError(strict_json.TOO_MANY_DIGITS) from None
            raise

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
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {shown(key)}",
                    key_node.start_mark,
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


class DocumentConstructor(CoreConstructor):
    """CoreConstructor for claims documents: an integer is the text it was written as.

    No field of a claims document is a number: ids, dates and texts are all text, and
    ``claims add`` takes them as typed. Read as a number and turned back into text, ``0x7E7``
    became the date ``2023``, ``0o17`` the id ``15`` and ``007`` the text ``7``: a rewrite no
    check could see, where the guarantee is that what passes validation is stored exactly. Kept as
    written, ``said_on: 2023`` is still the year 2023, ``0x7E7`` is refused as no date, and a
    5,000-digit number is text like any other, not a conversion error. The core-schema loader
    (``CoreLoader``) is left faithful for any other YAML; this one serves ``load_text`` only.
    """

    def construct_yaml_int(self, node: Node) -> str:  # type: ignore[override]
        """The scalar's text as written: a plain scalar resolved as an integer holds no escape, no
        quote and no folded line, so its value is its source text. An explicit ``!!int`` on a value
        that is no core-schema integer (``!!int 12x``) is refused, as the core loader refuses it."""
        value = str(self.construct_scalar(node))  # type: ignore[arg-type]
        if not CORE_INT.match(value):
            raise ValueError(f"!!int {shown(value)} is not an integer")
        return value


DocumentConstructor.add_constructor("tag:yaml.org,2002:int", DocumentConstructor.construct_yaml_int)


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


class DocumentLoader(DocumentConstructor, CoreLoader):
    """CoreLoader whose integers keep their text: the loader of claims documents (``load_text``)."""


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


def load_yaml(text: str, *, loader_class: type[CoreLoader] = CoreLoader) -> Any:
    """One YAML document read with ``loader_class`` (core-schema meaning by default), aliases bounded."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, {})
        return loader.construct_document(node)
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]


def _json_integer(text: str) -> int | str:
    """A JSON integer of a claims document: ``-0`` stays the text ``-0``, the one integer JSON can
    spell otherwise than ``str(int(text))`` does (it allows no leading zero and no ``+``), so that
    it is not stored as ``0``; any other is the number, which the document reader turns back into
    exactly its text. Called only for integers, of which a claims document normally has none."""
    return text if text == "-0" else int(text)


def load_text(text: str, *, name: str) -> Any:
    """Parse a claims document's text as JSON or YAML (``_parsed``); one clear error.

    YAML is read in pure Python (0.3 to 2 MB/s), so a YAML document longer than
    MAX_YAML_CHARACTERS is refused before it is read; larger documents go in JSON. Its integers
    keep the text they were written as (``DocumentLoader``): no field of a claims document is a
    number.
    """
    try:
        return _parsed(text, name)
    except ValidationError as error:
        raise ValidationError(f"{name}: {error}") from None
    except RecursionError:
        raise ValidationError(f"{name}: document is nested too deeply") from None
    except json.JSONDecodeError as error:
        raise ValidationError(
            f"{name}: not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except yaml.MarkedYAMLError as error:
        raise ValidationError(f"{name}: not valid YAML: {_yaml_message(error)}") from None
    except ReaderError as error:
        raise ValidationError(
            f"{name}: not valid YAML: unacceptable character #x{error.character:04x} at position {error.position}"
            if isinstance(error.character, int)
            else f"{name}: not valid YAML: {error.reason} at position {error.position}"
        ) from None
    except yaml.YAMLError as error:
        raise ValidationError(f"{name}: not valid YAML: {' '.join(str(error).split())}") from None
    except (ValueError, KeyError) as error:
        # An explicit tag on a value it cannot take (``!!int 12x``, ``!!bool maybe``). An integer
        # of more digits than Python converts cannot reach here: a claims document keeps it as
        # text (DocumentConstructor), and the core loader says so as JSON does (CoreConstructor).
        what = " ".join(str(error).split())[:200]
        raise ValidationError(f"{name}: not a valid document: a value cannot be read ({what})") from None


# Broken JSON is read again as YAML when it broke within this many characters, or is this short.
YAML_RETRY_AFTER_ERROR_AT = 4096
YAML_RETRY_SIZE = 256 * 1024


def _parsed(text: str, name: str) -> Any:
    """The document's data: a ``.json`` file is JSON only; text that opens with a brace is read as
    JSON first (large documents are JSON: valid JSON is parsed once), and as YAML when it is not
    JSON, for a YAML mapping in flow style opens so too (``{format: claims/v1}``); any other is YAML.

    When neither reads it, the error is the one of the language it looks written in: YAML's for a
    ``.yaml`` or ``.yml`` file, or for text YAML could parse but whose rules it breaks (a key
    repeated, a tag, too many aliases); JSON's otherwise, which says best where a JSON text broke.
    """
    if name.endswith(".json"):
        return strict_json.loads(text, parse_int=_json_integer)
    if not text.lstrip().startswith("{"):
        return _document_yaml(text)
    try:
        return strict_json.loads(text, parse_int=_json_integer)
    except json.JSONDecodeError as error:
        if name.endswith((".yaml", ".yml")):
            return _document_yaml(text)
        # YAML in flow style breaks JSON at its first unquoted key, near the start. A long text
        # broken further on is broken JSON, not read again as YAML (which reads a few MB a second:
        # a 7.6 MB document cut short took 47 s to refuse).
        if len(text) > MAX_YAML_CHARACTERS or (error.pos > YAML_RETRY_AFTER_ERROR_AT and len(text) > YAML_RETRY_SIZE):
            raise
        try:
            return _document_yaml(text)
        except (ReaderError, ScannerError, ParserError):  # no YAML either: JSON's error says where it broke
            pass
        raise  # the JSON error, raised outside the YAML one's handler so as not to be chained to it


def _document_yaml(text: str) -> Any:
    """A claims document read as YAML (``DocumentLoader``), refused unread when too long for YAML."""
    if len(text) > MAX_YAML_CHARACTERS:
        raise ValidationError(
            f"a YAML document is limited to {MAX_YAML_CHARACTERS // 2**20} MiB; give larger documents as JSON"
        )
    return load_yaml(text, loader_class=DocumentLoader)


def _at(mark: Any) -> str:
    """Where a PyYAML mark points, counted from 1 as an editor counts, or nothing without one."""
    return f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""


def _yaml_message(error: yaml.MarkedYAMLError) -> str:
    """PyYAML's two-part message as one sentence.

    PyYAML gives a context and a problem, each with its place. A context that begins "while"
    (``while scanning a quoted scalar``) only sets the scene for a problem that says it all, and
    is dropped. Any other is the first half of the sentence, and without it the problem means
    nothing: "expected a single document in the stream" before "but found another document",
    "found duplicate anchor 'a'; first occurrence" (at its own place) before "second occurrence".
    """
    problem = f"{error.problem}{_at(error.problem_mark)}" if error.problem else ""
    context = error.context or ""
    if not context or (problem and context.startswith("while ")):
        return problem or context
    if problem.startswith("but "):  # one sentence about one place: where the problem is
        return f"{context}, {problem}"
    return f"{context}{_at(error.context_mark)}, {problem}" if problem else f"{context}{_at(error.context_mark)}"
