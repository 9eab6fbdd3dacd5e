"""Render program trees (solidify.assess.synthesis.program) as readable Python.

Each helper emitted into generated code mirrors the evaluation in program.py
exactly, so that generated functions give the outputs the search measured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from solidify.assess.synthesis.program import (
    Arith,
    Concat,
    Cond,
    Const,
    Convert,
    Extract,
    ExtractAll,
    Get,
    Lookup,
    MapList,
    Node,
    Object,
    Pair,
    Round,
    Rules,
    Token,
)
from solidify.migrate.literals import Names, fstring_text, literal, raw_pattern, string

HELPERS: dict[str, tuple[str, set[str]]] = {
    # name: (source, modules it needs)
    "_as_text": (
        '''def _as_text(value: Any) -> str:
    """Text as the logs wrote it: strings as they are, numbers and booleans as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    raise ValueError(f"cannot use {value!r} as text")''',
        set(),
    ),
    "_as_number": (
        '''def _as_number(value: Any) -> float | int:
    """A number, or numeric text such as "1,234.50"."""
    if isinstance(value, str):
        number = float(value.replace(",", "").strip())
        return int(number) if number.is_integer() and "." not in value else number
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"not a number: {value!r}")
    return value''',
        set(),
    ),
    "_tokens": (
        '''def _tokens(text: str) -> list[str]:
    """The runs of letters and digits in a text."""
    return re.findall(r"[^\\W_]+", text)''',
        {"re"},
    ),
    "_words": (
        '''def _words(text: Any) -> set[str]:
    """The lowercase words of a text (nothing for a value that is not text)."""
    return set(re.findall(r"\\w+", text.lower())) if isinstance(text, str) else set()''',
        {"re"},
    ),
    "_first_match": (
        '''def _first_match(pattern: re.Pattern[str], text: str) -> str | None:
    """The first match of a pattern (its group when it has one), or None."""
    found = pattern.search(text)
    if found is None:
        return None
    return found.group(1) if pattern.groups else found.group(0)''',
        {"re"},
    ),
    "_canonical": (
        '''def _canonical(value: Any) -> str:
    """The key a table uses for a value: compact JSON with sorted keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)''',
        {"json"},
    ),
}


@dataclass
class Module:
    """What a generated module needs besides its functions: imports, helpers, constants."""

    imports: set[str] = field(default_factory=set)
    helpers: set[str] = field(default_factory=set)
    constants: list[tuple[str, str]] = field(default_factory=list)
    names: Names = field(default_factory=lambda: Names(set(HELPERS)))

    def helper(self, name: str) -> str:
        self.helpers.add(name)
        self.imports |= HELPERS[name][1]
        return name

    def constant(self, wanted: str, source: str) -> str:
        name = self.names.get(wanted).upper()
        self.constants.append((name, source))
        return name


@dataclass
class Access:
    """How a function reaches its input: named parameters, or one `data` value."""

    params: dict[str, str]  # input key -> parameter name
    whole: str = "data"

    def get(self, path: tuple[Any, ...], root: str | None) -> str:
        if root is not None:
            return root + _subscripts(path)
        if path and isinstance(path[0], str) and path[0] in self.params:
            return self.params[path[0]] + _subscripts(path[1:])
        return self.whole + _subscripts(path)


def _subscripts(path: tuple[Any, ...]) -> str:
    return "".join(f"[{literal(key)}]" for key in path)


class Renderer:
    def __init__(self, module: Module, access: Access, step: str) -> None:
        self.module = module
        self.access = access
        self.step = step
        self.loop_names = Names(set(access.params.values()) | {access.whole})

    # -- expressions

    def expr(self, node: Node, root: str | None = None) -> str:
        if isinstance(node, Const):
            return literal(node.value)
        if isinstance(node, Get):
            return self.access.get(node.path, root)
        if isinstance(node, Convert):
            return self._convert(node.fn, self.expr(node.arg, root))
        if isinstance(node, Token):
            return f"{self.module.helper('_tokens')}({self.expr(node.arg, root)})[{node.index}]"
        if isinstance(node, Concat):
            return self._concat(node, root)
        if isinstance(node, Extract):
            pattern = self._pattern(node.pattern)
            return f"{self.module.helper('_first_match')}({pattern}, {self.expr(node.arg, root)})"
        if isinstance(node, ExtractAll):
            return f"{self._pattern(node.pattern)}.findall({self.expr(node.arg, root)})"
        if isinstance(node, Pair):
            return f"[{self.expr(node.first, root)}, {self.expr(node.second, root)}]"
        if isinstance(node, Lookup):
            return self._lookup(node, root)
        if isinstance(node, Arith):
            return f"({self.expr(node.left, root)} {node.op} {self.expr(node.right, root)})"
        if isinstance(node, Round):
            inner = self.expr(node.arg, root)
            return f"round({inner}, {node.digits})" if node.digits > 0 else f"round({inner})"
        if isinstance(node, Object):
            items = ", ".join(f"{string(k)}: {self.expr(v, root)}" for k, v in node.fields)
            return "{" + items + "}"
        if isinstance(node, MapList):
            item = self.loop_names.get("item")
            return f"[{self.expr(node.item, item)} for {item} in {self.expr(node.source, root)}]"
        if isinstance(node, Rules):
            parts = [f"{literal(value)} if {self.cond(cond, root)}" for cond, value in node.rules]
            return "(" + " else ".join([*parts, literal(node.default)]) + ")"
        raise TypeError(f"cannot render {node!r}")

    def cond(self, cond: Cond, root: str | None = None) -> str:
        arg = self.expr(cond.arg, root)
        if cond.test == "equals":
            return f"{arg} == {literal(json.loads(cond.value))}"
        if cond.test == "has_word":
            return f"{string(cond.value)} in {self.module.helper('_words')}({arg})"
        if cond.test == "at_least":
            return f"{arg} >= {literal(cond.value)}"
        if cond.test == "below":
            return f"{arg} < {literal(cond.value)}"
        raise ValueError(cond.test)

    def _convert(self, fn: str, arg: str) -> str:
        if fn == "str":
            return f"{self.module.helper('_as_text')}({arg})"
        if fn in ("int", "float"):
            return f"{fn}({self.module.helper('_as_number')}({arg}))"
        if fn in ("lower", "upper", "strip", "title", "capitalize"):
            return f"{arg}.{fn}()"
        if fn == "first_word":
            return f"{arg}.split()[0]"
        if fn == "last_word":
            return f"{arg}.split()[-1]"
        if fn == "len":
            return f"len({arg})"
        if fn == "fixed2":
            return f'format({arg}, ".2f")'
        if fn == "grouped2":
            return f'format({arg}, ",.2f")'
        raise ValueError(fn)

    def _concat(self, node: Concat, root: str | None) -> str:
        pieces: list[str] = []
        plain = True
        for part in node.parts:
            if isinstance(part, Const) and isinstance(part.value, str):
                pieces.append(fstring_text(part.value))
            else:
                inner = self.expr(part, root)
                # Before Python 3.12 an f-string expression cannot hold quotes or backslashes.
                if '"' in inner or "\\" in inner or "'" in inner:
                    plain = False
                    break
                pieces.append("{" + inner + "}")
        if plain:
            return 'f"' + "".join(pieces) + '"'
        return "".join(["(", " + ".join(self._text_part(p, root) for p in node.parts), ")"])

    def _text_part(self, part: Node, root: str | None) -> str:
        if isinstance(part, Const):
            return literal(part.value)
        return self.expr(part, root)

    def _pattern(self, pattern: str) -> str:
        self.module.imports.add("re")
        return self.module.constant(f"{self.step}_pattern", f"re.compile({raw_pattern(pattern)})")

    def _lookup(self, node: Lookup, root: str | None) -> str:
        keys = [json.loads(k) for k, _ in node.table]
        key = self.expr(node.key, root)
        plain = all(isinstance(k, str) for k in keys) or all(
            isinstance(k, int) and not isinstance(k, bool) for k in keys
        )
        pairs = isinstance(node.key, Pair) and all(
            isinstance(k, list) and all(isinstance(p, str) for p in k) for k in keys
        )
        if pairs:
            # A table over two fields, keyed by (first, second) in plain Python.
            entries = [(f"({literal(k[0])}, {literal(k[1])})", literal(v))
                       for k, (_, v) in zip(keys, node.table, strict=True)]  # fmt: skip
            key = f"({self.expr(node.key.first, root)}, {self.expr(node.key.second, root)})"
        elif plain:
            entries = [(literal(k), literal(v)) for k, (_, v) in zip(keys, node.table, strict=True)]
        else:
            entries = [(string(k), literal(v)) for k, v in node.table]
            key = f"{self.module.helper('_canonical')}({key})"
        body = "{\n" + "".join(f"    {k}: {v},\n" for k, v in entries) + "}"
        table = self.module.constant(f"{self.step}_table", body)
        return f"{table}[{key}]"

    # -- function bodies

    def body(self, node: Node) -> list[str]:
        """Statements (without indentation) that return the step's output."""
        if isinstance(node, Rules):
            lines = []
            for i, (cond, value) in enumerate(node.rules):
                lines.append(f"{'if' if i == 0 else 'elif'} {self.cond(cond)}:")
                lines.append(f"    return {literal(value)}")
            lines.append(f"return {literal(node.default)}")
            return lines
        if isinstance(node, Object):
            lines = ["return {"]
            lines += [f"    {string(k)}: {self.expr(v)}," for k, v in node.fields]
            lines.append("}")
            return lines
        return [f"return {self.expr(node)}"]
