"""Reading prompts and answers, and writing answers back: the part that generated code runs.

Standard library only, and no state: `migrate` copies these functions verbatim into the
modules it writes, so that the code it ships parses messages and renders answers exactly
as the assessment measured. Templates and formats are plain JSON-able dicts
(see solidify.assess.prompts.template and .formats, which learn them).
"""

from __future__ import annotations

import datetime
import decimal
import json
import re
from typing import Any

_ROLES = {"human": "user", "humanmessage": "user", "ai": "assistant", "aimessage": "assistant",
          "systemmessage": "system", "developer": "system", "model": "assistant",
          "toolmessage": "tool", "functionmessage": "tool", "chatmessage": "user",
          "function_call": "assistant", "function_call_output": "tool"}  # fmt: skip
_ROLE_MARK = "\x1f"
_MESSAGE_MARK = "\x1e"
_NULLS = ("NONE", "None", "none", "N/A", "n/a", "NA", "null", "NULL", "nil", "-", "")
_BULLET = re.compile(r"^[ \t]*(?:[-*\u2022]|\d{1,3}[.)])[ \t]+")


def _part_text(part: Any) -> str:
    """One content part as text: its text when it has one, else its JSON."""
    if isinstance(part, str):
        return part
    if isinstance(part, dict):
        for key in ("text", "input_text", "content"):
            if isinstance(part.get(key), str):
                return part[key]
    return json.dumps(part, sort_keys=True, ensure_ascii=False)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_part_text(p) for p in content)
    if content is None:
        return ""
    return json.dumps(content, sort_keys=True, ensure_ascii=False)


def _message(item: Any) -> tuple[str, str] | None:
    """(role, text) of one message: OpenAI, Anthropic or LangChain shape."""
    if not isinstance(item, dict):
        return None
    if "kwargs" in item and isinstance(item["kwargs"], dict):  # LangChain's serialised form
        ids = item.get("id") or ["user"]
        role = str(ids[-1] if isinstance(ids, list) and ids else "user")
        item = {"role": role, **item["kwargs"]}
    role = item.get("role", item.get("type"))
    # Responses API items carry a call's arguments or a tool's output instead of content.
    key = next((k for k in ("content", "parts", "arguments", "output") if k in item), None)
    if not isinstance(role, str) or key is None:
        return None
    role = _ROLES.get(role.lower(), role.lower())
    return role, _content_text(item[key])


def prompt_text(value: Any) -> str | None:
    """The prompt as one text: chat messages (role and text of each) or a bare prompt
    string; None for anything else."""
    if isinstance(value, str):
        return value
    messages: list[Any] | None = None
    system: Any = None
    if isinstance(value, dict):
        if isinstance(value.get("messages"), list):
            messages, system = value["messages"], value.get("system")
        elif isinstance(value.get("prompt"), str) and len(value) == 1:
            return value["prompt"]
        elif isinstance(value.get("input"), str) and len(value) == 1:
            return value["input"]
    elif isinstance(value, list):
        messages = value
    if not messages:
        return None
    if len(messages) == 1 and isinstance(messages[0], list):  # LangSmith: a batch of one
        messages = messages[0]
    pairs = [_message(m) for m in messages]
    if any(p is None for p in pairs):
        return None
    if system is not None:
        pairs.insert(0, ("system", _content_text(system)))
    return _MESSAGE_MARK.join(role + _ROLE_MARK + text for role, text in pairs)  # type: ignore[misc]


def match_template(text: str, pieces: list[str]) -> list[str] | None:
    """The slot texts of `text` under a template's fixed pieces, or None if it does not fit.

    Each fixed piece is taken at its first place after the previous one (the last at the
    end of the text): linear in the text, where a regular expression with one lazy group
    per slot can backtrack for minutes on a text that does not fit."""
    first, last = pieces[0], pieces[-1]
    end = len(text) - len(last)
    if end < len(first) or not text.startswith(first) or not text.endswith(last):
        return None
    at = len(first)
    parts = []
    for piece in pieces[1:-1]:
        found = text.find(piece, at, end)
        if found < 0:
            return None
        parts.append(text[at:found])
        at = found + len(piece)
    parts.append(text[at:end])
    return parts


def parse_value(text: str, spec: dict[str, Any]) -> Any:
    """A slot's text as its typed value (ValueError when it does not parse)."""
    kind = spec.get("type", "text")
    if spec.get("nullable") and text.strip() in _NULLS:
        return None
    if kind == "text":
        return text
    if kind == "int":
        if not re.fullmatch(r"-?\d+", text.strip()):
            raise ValueError(f"not an integer: {text!r}")
        return int(text)
    if kind == "decimal":
        plain = text.strip().replace(",", "") if spec.get("thousands") else text.strip()
        if not re.fullmatch(r"-?\d+(?:\.\d+)?", plain):
            raise ValueError(f"not a decimal: {text!r}")
        return float(plain)
    if kind == "bool":
        word = text.strip().lower()
        if word in ("yes", "true", "y"):
            return True
        if word in ("no", "false", "n"):
            return False
        raise ValueError(f"not yes/no: {text!r}")
    if kind == "date":
        return datetime.datetime.strptime(text.strip(), spec["format"]).date().isoformat()
    if kind == "json":
        try:
            return json.loads(text)
        except ValueError:
            return text  # a document that does not parse stays text (the program may miss)
    if kind == "lines":
        items = [_BULLET.sub("", line) for line in text.strip("\n").split("\n") if line.strip()]
        fields = spec.get("fields")
        if not fields:
            return items
        out = []
        for item in items:
            parts = match_template(item, spec["pieces"])
            if parts is None:
                raise ValueError(f"list item of another shape: {item!r}")
            out.append({f["name"]: parse_value(p, f) for f, p in zip(fields, parts, strict=True)})
        return out
    raise ValueError(f"unknown slot type {kind!r}")


def prompt_slots(value: Any, template: dict[str, Any]) -> dict[str, Any] | None:
    """The slot values of a logged input under a template, or None if it does not fit."""
    text = prompt_text(value)
    return None if text is None else text_slots(text, template)


def text_slots(text: str, template: dict[str, Any]) -> dict[str, Any] | None:
    """The slot values of a prompt's text under a template, or None if it does not fit."""
    parts = match_template(text, template["pieces"])
    if parts is None:
        return None
    try:
        return {s["name"]: parse_value(p, s) for s, p in zip(template["slots"], parts, strict=True)}
    except (ValueError, TypeError, KeyError):
        return None


# ------------------------------------------------------------------ answers


def _ordered(value: Any, order: dict[str, list[str]], path: str = "") -> Any:
    """Object keys in the order the logs wrote them; integral floats as integers."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_ordered(v, order, path + "[]") for v in value]
    if isinstance(value, dict):
        known = order.get(path, [])
        keys = [k for k in known if k in value] + [k for k in value if k not in known]
        return {k: _ordered(value[k], order, path + "." + k) for k in keys}
    return value


def render_body(value: Any, fmt: dict[str, Any]) -> str:
    """The answer's text for a value, in a learned text format."""
    body = fmt.get("body", "text")
    if value is None and body != "json":
        if fmt.get("null") is None:
            raise ValueError("this step never answered with nothing")
        return fmt["null"]
    if body == "text":
        if not isinstance(value, str):
            raise ValueError(f"not text: {value!r}")
        return value
    if body == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"not a boolean: {value!r}")
        return fmt["words"][0] if value else fmt["words"][1]
    if body == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"not a number: {value!r}")
        decimals = fmt.get("decimals")
        group = "," if fmt.get("thousands") else ""
        value = value + 0 if value else 0  # no "-0"
        if decimals is not None and round(value, decimals) == 0:
            value = 0.0  # nor "-0.00"
        if decimals is not None:
            text = format(value, f"{group}.{decimals}f")
        elif isinstance(value, int) or value.is_integer():
            text = format(int(value), group + "d")
        else:  # the shortest digits that read back, never in exponent form
            whole, _, fraction = format(decimal.Decimal(repr(value)), "f").partition(".")
            sign = "-" if whole.startswith("-") else ""
            text = sign + format(abs(int(whole)), group + "d") + "." + fraction
        return fmt.get("prefix", "") + text + fmt.get("suffix", "")
    if body == "json":
        if value is None and fmt.get("null") is not None:
            return fmt["null"]
        indent = fmt.get("indent")
        text = json.dumps(
            _ordered(value, fmt.get("order", {})),
            indent=indent,
            ensure_ascii=fmt.get("ascii", False),
            separators=(",", ":") if fmt.get("compact") else None,
        )
        fence = fmt.get("fence")
        if fence is not None:
            text = fence + "\n" + text + "\n```"
        return fmt.get("before", "") + text + fmt.get("after", "")
    raise ValueError(f"unknown answer format {body!r}")


def parse_body(text: str, fmt: dict[str, Any]) -> Any:
    """The value a text answer stands for (ValueError when it is not in the format;
    parse_output also checks that the value is written back exactly)."""
    body = fmt.get("body", "text")
    if fmt.get("null") is not None and text == fmt["null"]:
        value: Any = None
    elif body == "text":
        value = text
    elif body == "bool":
        if text not in fmt["words"]:
            raise ValueError(f"not {fmt['words'][0]}/{fmt['words'][1]}: {text!r}")
        value = text == fmt["words"][0]
    elif body == "number":
        prefix, suffix = fmt.get("prefix", ""), fmt.get("suffix", "")
        if not (text.startswith(prefix) and text.endswith(suffix)):
            raise ValueError(f"not a number as this step writes them: {text!r}")
        core = text[len(prefix) : len(text) - len(suffix)]
        if not re.fullmatch(r"-?\d[\d,]*(?:\.\d+)?", core):
            raise ValueError(f"not a number: {text!r}")
        core = core.replace(",", "")
        value = float(core) if "." in core else int(core)
    elif body == "json":
        inner = text
        before, after = fmt.get("before", ""), fmt.get("after", "")
        if not (inner.startswith(before) and inner.endswith(after)):
            raise ValueError("not JSON as this step writes it")
        inner = inner[len(before) : len(inner) - len(after)]
        fence = fmt.get("fence")
        if fence is not None:
            if not (inner.startswith(fence + "\n") and inner.endswith("\n```")):
                raise ValueError("not a fenced block")
            inner = inner[len(fence) + 1 : -4]
        value = json.loads(inner)
    else:
        raise ValueError(f"unknown answer format {body!r}")
    return value


def _placed(shape: Any, path: list[Any], value: Any) -> Any:
    """A copy of `shape` with `value` at `path`."""
    out = json.loads(json.dumps(shape))
    where = out
    for key in path[:-1]:
        where = where[key]
    where[path[-1]] = value
    return out


def _at(output: Any, path: list[Any]) -> Any:
    for key in path:
        output = output[key]
    return output


def render_output(value: Any, fmt: dict[str, Any]) -> Any:
    """The output exactly as the step logged it, for a value: the answer's text, or the
    message (or tool call) around it, whose other parts stay as they always were."""
    wrap = fmt.get("wrap", "none")
    if wrap == "tool":
        args = _ordered(value, fmt.get("order", {}))
        args = json.dumps(args, ensure_ascii=False) if fmt.get("as_text") else args
        return _placed(fmt["shape"], fmt["path"], args)
    text = render_body(value, fmt)
    if wrap == "none":
        return text
    if wrap == "path":
        return _placed(fmt["shape"], fmt["path"], text)
    raise ValueError(f"unknown answer wrapper {wrap!r}")


def _no_ids(value: Any) -> Any:
    if isinstance(value, list):
        return [_no_ids(v) for v in value]
    if isinstance(value, dict):
        return {k: None if k == "id" else _no_ids(v) for k, v in value.items()}
    return value


def parse_output(output: Any, fmt: dict[str, Any]) -> Any:
    """The value a logged output stands for; ValueError when it is not in the format or
    does not come back exactly when written again."""
    wrap = fmt.get("wrap", "none")
    if wrap == "tool":
        where = _at(output, fmt["path"])
        value = json.loads(where) if fmt.get("as_text") else where
        again = render_output(value, fmt)
        if fmt.get("any_id"):  # call ids differ from call to call: not compared
            again, output = _no_ids(again), _no_ids(output)
        if again != output:
            raise ValueError("a tool call written differently from the learned format")
        return value
    if wrap == "none":
        text = output
    elif wrap == "path":
        text = _at(output, fmt["path"])
    else:
        raise ValueError(f"unknown answer wrapper {wrap!r}")
    if not isinstance(text, str):
        raise ValueError("no text answer")
    value = parse_body(text, fmt)
    if render_output(value, fmt) != output:
        raise ValueError("an answer written differently from the learned format")
    return value
