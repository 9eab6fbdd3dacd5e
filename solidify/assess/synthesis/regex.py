"""Learn extraction patterns from strings found inside text.

Each example's answer ("A-48213", "#1234") is cut into runs of capitals,
small letters and digits; the runs are generalised at three levels (exact
lengths, literal letters with any digits, any letters and digits), one
alternative per distinct shape. Candidate patterns are then checked on every
training example, including those where nothing must be found: that is what
keeps `[A-Z]+-\\d+` from also taking "UTF-8" when the logs say it must not.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

MAX_ALTERNATIVES = 8
_RUN = re.compile(r"[A-Z]+|[a-z]+|[0-9]+|.", re.S)


def _runs(text: str) -> list[str]:
    return _RUN.findall(text)


def _class(run: str) -> str | None:
    if run.isdigit() and run.isascii():
        return r"\d"
    if run.isascii() and run.isalpha():
        return "[A-Z]" if run.isupper() else "[a-z]"
    return None


def shape(text: str, level: str) -> str:
    """The pattern of one answer at one level of generality."""
    out = []
    for run in _runs(text):
        cls = _class(run)
        if cls is None:
            out.append(re.escape(run))
        elif level == "exact":
            out.append(cls + (f"{{{len(run)}}}" if len(run) > 1 else ""))
        elif level == "prefix":
            out.append(re.escape(run) if cls != r"\d" else r"\d+")
        else:
            out.append(cls + "+")
    return "".join(out)


def _alternation(answers: Iterable[str], level: str) -> str | None:
    counts = Counter(shape(a, level) for a in answers if a)
    if not counts or len(counts) > MAX_ALTERNATIVES:
        return None
    # Frequent shapes first; among equals, longer first so that a prefix does not shadow.
    ordered = sorted(counts, key=lambda s: (-counts[s], -len(s), s))
    return ordered[0] if len(ordered) == 1 else "(?:" + "|".join(ordered) + ")"


def _bounded(core: str, answers: list[str]) -> str:
    starts = all(a[:1].isalnum() for a in answers if a)
    ends = all(a[-1:].isalnum() for a in answers if a)
    return (r"\b" if starts else "") + core + (r"\b" if ends else "")


def _common_left(pairs: list[tuple[str, str]]) -> str | None:
    """The one character that stands before every answer, when it is not a letter or digit."""
    seen = set()
    for text, answer in pairs:
        at = text.find(answer)
        if at <= 0:
            return None
        seen.add(text[at - 1])
        if len(seen) > 1:
            return None
    char = seen.pop() if seen else None
    return char if char and not char.isalnum() and not char.isspace() else None


def candidate_patterns(pairs: list[tuple[str, str]], *, capture: bool) -> list[str]:
    """Patterns to try, most general first. `capture` puts the answer in group 1
    (for a single match); otherwise context becomes a look-behind (for findall)."""
    answers = [a for _, a in pairs if a]
    if not answers:
        return []
    left = _common_left(pairs)
    out: list[str] = []
    for level in ("general", "prefix", "exact"):
        core = _alternation(answers, level)
        if core is None:
            continue
        for bounded in (True, False):
            body = _bounded(core, answers) if bounded else core
            out.append(body)
            if left is not None:
                lit = re.escape(left)
                out.append(f"{lit}({core})" if capture else f"(?<={lit}){core}")
    seen: set[str] = set()
    return [p for p in out if not (p in seen or seen.add(p))]
