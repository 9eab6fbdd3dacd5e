"""Infer a prompt's template from its renderings: the fixed text, and the slots between.

Each rendering is cut into tokens (words, spaces, punctuation; an embedded JSON document
or a block of bulleted lines is one token). Tokens of a reference rendering that every
other sampled rendering also has, in the same order, are the fixed text; the runs between
them are slots. Fixed runs that only separate two slots by a space or a comma are not
trusted (two words of one value would split it), and every training rendering must fit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from solidify.assess.prompts.runtime import match_template
from solidify.assess.prompts.slots import slot_spec

ALIGN_SAMPLE = 24  # renderings the reference is aligned with
MIN_FIT = 0.9  # share of training renderings a template must fit
_TOKEN = re.compile(
    r"\d{4}-\d\d-\d\d(?:[T ][\d:.]+Z?)?|\d{1,2}[./]\d{1,2}[./]\d{2,4}"  # dates
    r"|(?<!\w)-?\d[\d,]*(?:\.\d+)?%?"  # numbers as written (`T-12` is not minus 12)
    r"|\w+|\s+|[^\w\s]"
)
# Long renderings (documents pasted in) are aligned line by line first: word by word,
# difflib's cost grows with the square of their length.
_LINE_TOKEN = re.compile(r"[^\n\x1e\x1f{\[]+|[\n\x1e\x1f{\[]")
MAX_FINE_TOKENS = 300
MAX_FINE_CHARS = 2000
_BULLET_LINE = re.compile(r"[ \t]*(?:[-*\u2022]|\d{1,3}[.)])[ \t]+\S.*")
_DECODER = json.JSONDecoder()
# `Label: value`, also with a short fixed start of the value (`Ticket: T-{n}`, `Total: ${x}`).
_LABEL = re.compile(r"([A-Za-z][\w \-/()]{0,40}?)\s*[:=]\s*[^\s:=]{0,3}\s*$")


def tokens(text: str, *, coarse: bool = False) -> list[str]:
    """Words, runs of spaces, single punctuation marks (`coarse`: lines); a JSON document
    or a block of bulleted lines is one token."""
    pattern = _LINE_TOKEN if coarse else _TOKEN
    out: list[str] = []
    at, n = 0, len(text)
    line_start = True
    while at < n:
        char = text[at]
        if char in "{[":
            try:
                value, end = _DECODER.raw_decode(text, at)
            except ValueError:
                value, end = None, at
            if isinstance(value, (dict, list)) and end - at > 2:
                out.append(text[at:end])
                at, line_start = end, False
                continue
        if line_start:
            block_end = _bullet_block(text, at)
            if block_end > at:
                out.append(text[at:block_end])
                at, line_start = block_end, False
                continue
        found = pattern.match(text, at)
        assert found is not None
        piece = found.group(0)
        out.append(piece)
        at = found.end()
        line_start = piece.endswith("\n") or (piece.isspace() and "\n" in piece)
    return out


def _bullet_block(text: str, at: int) -> int:
    """End of the run of bulleted lines starting at `at` (`at` itself when there is none)."""
    end = at
    while end < len(text):
        line_end = text.find("\n", end)
        line_end = len(text) if line_end < 0 else line_end
        if not _BULLET_LINE.fullmatch(text, end, line_end):
            break
        end = line_end
        if end < len(text) and _BULLET_LINE.match(text, end + 1):
            end += 1  # the newline between two items belongs to the block
        else:
            break
    return end


@dataclass(frozen=True)
class Template:
    pieces: list[str]  # fixed text; a slot between each two
    slots: list[dict]  # name, type and type parameters of each slot

    def to_dict(self) -> dict:
        return {"pieces": self.pieces, "slots": self.slots}

    def text(self) -> str:
        """The template as a person would write it: fixed text with {slot} marks."""
        out = [self.pieces[0]]
        for slot, piece in zip(self.slots, self.pieces[1:], strict=True):
            out.append("{" + slot["name"] + "}")
            out.append(piece)
        return "".join(out).replace("\x1e", "\n\n").replace("\x1f", ": ")


def fixed_pieces(texts: list[str], *, merge_weak: bool = True) -> list[str] | None:
    """The fixed pieces shared by the renderings (None when there is no slot)."""
    sample = texts[: ALIGN_SAMPLE + 1]
    if len(sample) < 2:
        return None
    fine = len(sample[0]) <= MAX_FINE_CHARS * 4 and len(tokens(sample[0])) <= MAX_FINE_TOKENS
    if fine:
        return _align([tokens(t) for t in sample], merge_weak=merge_weak)
    pieces = _align([tokens(t, coarse=True) for t in sample], merge_weak=False)
    if pieces is None:
        return None
    # Then word by word inside each slot whose values are short: `Quantity: {quantity}`.
    rows = [r for r in (match_template(t, pieces) for t in sample) if r is not None]
    out = [pieces[0]]
    for n in range(len(pieces) - 1):
        column = [r[n] for r in rows]
        sub = None
        if len(column) > 1 and max(len(c) for c in column) <= MAX_FINE_CHARS:
            lists = [tokens(c) for c in column]
            if max(len(t) for t in lists) <= MAX_FINE_TOKENS:
                sub = _align(lists, merge_weak=merge_weak)
        if sub is None:
            out.append(pieces[n + 1])
        else:
            out[-1] += sub[0]
            out.extend(sub[1:-1])
            out.append(sub[-1] + pieces[n + 1])
    return out


def _align(token_lists: list[list[str]], *, merge_weak: bool) -> list[str] | None:
    """Fixed pieces: the reference's tokens that every other list has, in order."""
    reference = token_lists[0]
    keep = [True] * len(reference)
    for other in token_lists[1:]:
        seen = [False] * len(reference)
        matcher = SequenceMatcher(None, reference, other, autojunk=False)
        for block in matcher.get_matching_blocks():
            for i in range(block.a, block.a + block.size):
                seen[i] = True
        keep = [k and s for k, s in zip(keep, seen, strict=True)]
    runs: list[tuple[bool, str]] = []
    for token, fixed in zip(reference, keep, strict=True):
        if runs and runs[-1][0] == fixed:
            runs[-1] = (fixed, runs[-1][1] + token)
        else:
            runs.append((fixed, token))
    # A short fixed run between two slots (a space, a comma) is part of one value.
    merged: list[tuple[bool, str]] = []
    for i, (fixed, text) in enumerate(runs):
        inner = 0 < i < len(runs) - 1 and not runs[i - 1][0] and not runs[i + 1][0]
        if fixed and inner and merge_weak and _weak(text):
            fixed = False
        if merged and merged[-1][0] == fixed:
            merged[-1] = (fixed, merged[-1][1] + text)
        else:
            merged.append((fixed, text))
    # Rebuild: alternate fixed / slot, starting and ending with a fixed piece.
    pieces = []
    expect_fixed = True
    for fixed, text in merged:
        if fixed != expect_fixed:
            pieces.append("")  # the text starts with a slot: an empty fixed piece first
        if fixed:
            pieces.append(text)
        expect_fixed = not fixed
    if expect_fixed:
        pieces.append("")
    if len(pieces) < 2:
        return None
    return pieces


def _spaces_to_fixed(
    pieces: list[str], values: list[list[str]]
) -> tuple[list[str], list[list[str]]]:
    """Spaces every value of a slot starts or ends with belong to the fixed text (the
    alignment may have left them in the slot)."""
    pieces = list(pieces)
    for n in range(len(pieces) - 1):
        column = [v[n] for v in values]
        lead = min((len(c) - len(c.lstrip(" \t")) for c in column), default=0)
        if lead and len({c[:lead] for c in column}) == 1 and all(len(c) > lead for c in column):
            pieces[n] += column[0][:lead]
            for v in values:
                v[n] = v[n][lead:]
        column = [v[n] for v in values]
        trail = min((len(c) - len(c.rstrip(" \t")) for c in column), default=0)
        if (
            trail
            and len({c[len(c) - trail :] for c in column}) == 1
            and all(len(c) > trail for c in column)
        ):
            pieces[n + 1] = column[0][len(column[0]) - trail :] + pieces[n + 1]
            for v in values:
                v[n] = v[n][: len(v[n]) - trail]
    return pieces, values


_UNIT_AFTER = re.compile(
    r"^ ?(%|[A-Z]{3}\b|[€$£]|(?:kg|g|lb|oz|km|m|cm|mm|l|ml|h|min|s|ms|pcs"
    r"|days?|hours?|minutes?|items?|units?|pieces?)\b)"
)


def _unit(before: str, after: str) -> str | None:
    """The unit the fixed text writes around a number: `{price} EUR`, `${total}`, `{n} %`."""
    if before[-1:] in ("$", "€", "£"):
        return before[-1]
    found = _UNIT_AFTER.match(after)
    return found.group(1) if found else None


def _whole_messages(pieces: list[str]) -> bool:
    """Whether every slot is a whole message of free text (nothing fixed around it)."""
    for n in range(len(pieces) - 1):
        starts = pieces[n] == "" or pieces[n].endswith("\x1f")
        ends = pieces[n + 1] == "" or pieces[n + 1].startswith("\x1e")
        if not (starts and ends):
            return False
    return True


def _weak(text: str) -> bool:
    return "\n" not in text and len(re.findall(r"\w\w", text)) == 0


def label_name(before: str) -> str | None:
    """The label a slot follows (`Quantity: ` gives `quantity`), if any."""
    lines = before.rsplit("\x1f", 1)[-1].split("\n")
    line = lines[-1]
    if not line.strip() and len(lines) > 1:  # the label on the line above
        line = lines[-2]
    found = _LABEL.search(line)
    if not found:
        return None
    words = re.findall(r"[A-Za-z0-9]+", found.group(1))[-4:]
    name = "_".join(w.lower() for w in words)
    return name or None


def infer(texts: list[str]) -> tuple[Template | None, str]:
    """The template that fits the renderings, and a note (why there is none)."""
    pieces = fixed_pieces(texts)
    if pieces is None:
        return None, "no slots found: the prompt is the same every time"
    values: list[list[str]] = []
    for text in texts:
        parts = match_template(text, pieces)
        if parts is not None:
            values.append(parts)
    if len(values) < MIN_FIT * len(texts):
        return None, "no slots found: the prompt does not follow one template"
    pieces, values = _spaces_to_fixed(pieces, values)
    names: set[str] = set()
    slots = []
    for n, before in enumerate(pieces[:-1]):
        name = label_name(before) or f"slot_{n + 1}"
        base, k = name, 2
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.add(name)
        spec = {"name": name, **slot_spec([v[n] for v in values])}
        unit = _unit(before, pieces[n + 1]) if spec["type"] in ("int", "decimal") else None
        if unit:
            spec["unit"] = unit
        slots.append(spec)
    # The fixed text, without the role names: at least a word of it must be the prompt's.
    fixed = re.sub(r"[^\x1e\x1f]*\x1f", " ", "\x1e".join(pieces))
    free = _whole_messages(pieces) and all(s["type"] == "text" for s in slots)
    if not re.search(r"[^\W\d_]{2}", fixed) or free:
        return None, "no slots found: the prompt is free text"
    return Template(pieces, slots), ""
