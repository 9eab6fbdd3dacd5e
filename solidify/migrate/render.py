"""Render program trees (solidify.assess.synthesis.program) as readable Python.

Each node type renders itself (its `render` in program.REGISTRY); this module is the
code generator those renderings ask for names, helpers, constants and literals.
Helpers are the very functions the interpreter calls (synthesis/helpers.py), so
generated functions give the outputs the search measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from solidify.assess.synthesis.helpers import HELPERS
from solidify.assess.synthesis.program import (
    REGISTRY,
    Cond,
    Node,
    Object,
    Rules,
    render,
    render_cond,
)
from solidify.migrate.literals import Names, fstring_text, literal, raw_pattern, string

__all__ = ["HELPERS", "Access", "Module", "Renderer"]


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
    """The code generator each node's `render` (program.REGISTRY) asks for names and literals."""

    def __init__(self, module: Module, access: Access, step: str) -> None:
        self.module = module
        self.access = access
        self.step = step
        self.loop_names = Names(set(access.params.values()) | {access.whole})

    # -- what node renderings ask for (program.Renders)

    def expr(self, node: Node, root: str | None = None) -> str:
        return render(node, self, root)

    def cond(self, cond: Cond, root: str | None = None) -> str:
        return render_cond(cond, self, root)

    def get(self, path: tuple[Any, ...], root: str | None) -> str:
        return self.access.get(path, root)

    def helper(self, name: str) -> str:
        return self.module.helper(name)

    def pattern(self, pattern: str) -> str:
        self.module.imports.add("re")
        return self.module.constant(f"{self.step}_pattern", f"re.compile({raw_pattern(pattern)})")

    def constant(self, wanted: str, source: str) -> str:
        return self.module.constant(f"{self.step}_{wanted}", source)

    def loop_name(self, wanted: str = "item") -> str:
        return self.loop_names.get(wanted)

    def import_module(self, name: str) -> None:
        self.module.imports.add(name)

    literal = staticmethod(literal)
    string = staticmethod(string)
    fstring_text = staticmethod(fstring_text)

    # -- function bodies

    def body(self, node: Node) -> list[str]:
        """Statements (without indentation) that return the step's output."""
        statements = REGISTRY[type(node)].body
        if statements is not None:
            return statements(node, self)
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
