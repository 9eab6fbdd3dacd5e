"""Safe Python source for values and names that come from logs.

Everything a log says reaches generated code only through these functions:
values as literals (`repr`-exact), text in docstrings and comments escaped,
names sanitised into identifiers that are never keywords. Nothing is evaluated.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from typing import Any

_NOT_IDENT = re.compile(r"[^0-9a-zA-Z_]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | {
    "STEPS", "Any", "Callable", "re", "json", "math", "self", "cls",
}  # fmt: skip


def snake_case(name: str, *, fallback: str = "step") -> str:
    """A lowercase identifier from any text: `release-cleanup` -> `release_cleanup`."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    text = _CAMEL.sub("_", text)
    text = _NOT_IDENT.sub("_", text).strip("_").lower()
    text = re.sub(r"_+", "_", text)
    if not text:
        text = fallback
    if text[0].isdigit():
        text = f"{fallback}_{text}"
    if text in RESERVED or keyword.iskeyword(text):
        text = f"{text}_"
    return text


class Names:
    """Hands out identifiers that are unique within one scope."""

    def __init__(self, taken: set[str] | None = None) -> None:
        self.taken = set(taken or ())

    def get(self, wanted: str, *, fallback: str = "step") -> str:
        base = snake_case(wanted, fallback=fallback)
        name, n = base, 2
        while name in self.taken:
            name, n = f"{base}_{n}", n + 1
        self.taken.add(name)
        return name


def literal(value: Any) -> str:
    """Python source for a JSON value (str, number, bool, None, list, dict)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        text = repr(value)
        if text in ("inf", "-inf", "nan"):
            return f"float({text!r})"
        return text
    if isinstance(value, str):
        return string(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{string(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def string(text: str) -> str:
    """A double-quoted string literal; control and invisible characters are escaped."""
    out = ['"']
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif not char.isprintable() or unicodedata.category(char) in ("Cf", "Zl", "Zp"):
            # Bidirectional and other invisible controls must not reach source code as is.
            code = ord(char)
            out.append(
                f"\\x{code:02x}"
                if code < 0x100
                else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
            )
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def fstring_text(text: str) -> str:
    """Literal text inside a double-quoted f-string: escaped as `string` does, braces doubled."""
    return string(text)[1:-1].replace("{", "{{").replace("}", "}}")


def raw_pattern(pattern: str) -> str:
    """A regular expression as a raw string when that is exact, else as an escaped string."""
    simple = (
        '"' not in pattern
        and not pattern.endswith("\\")
        and all(c.isprintable() and unicodedata.category(c) not in ("Cf", "Zl", "Zp")
                for c in pattern)
    )  # fmt: skip
    # A raw string cannot end in an odd run of backslashes; checked above.
    return f'r"{pattern}"' if simple else string(pattern)


def docstring(text: str, indent: str = "    ") -> str:
    """A triple-quoted docstring whose value is exactly `text` (escaped where needed)."""
    body = []
    for i, char in enumerate(text):
        if char == "\\":
            body.append("\\\\")
        elif char == '"' and (text[i + 1 : i + 2] == '"' or i == len(text) - 1):
            # No run of quotes may close the docstring early, nor touch its closing quotes.
            body.append('\\"')
        elif char == "\n":
            body.append("\n")
        elif char == "\t":
            body.append("    ")
        elif not char.isprintable() or unicodedata.category(char) in ("Cf", "Zl", "Zp"):
            code = ord(char)
            body.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            body.append(char)
    escaped = "".join(body)
    lines = escaped.split("\n")
    if len(lines) == 1:
        return f'{indent}"""{escaped}"""'
    inner = "\n".join((indent + line) if line.strip() else "" for line in lines[1:])
    return f'{indent}"""{lines[0]}\n{inner}\n{indent}"""'


def comment(text: str, width: int = 90) -> str:
    """Text fit for one `#` comment line: no line breaks, controls escaped, shortened."""
    flat = string(text)[1:-1]
    return flat if len(flat) <= width else flat[: width - 1] + "…"
