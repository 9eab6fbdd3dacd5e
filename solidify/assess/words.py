"""Plain words for what a found program does and how sure the finding is, for the next
steps a manager reads; the program itself stays in `replacement.description`."""

from __future__ import annotations

import re

from solidify.assess.synthesis.engine import Synthesis

_FIELDS = re.compile(r"\binput((?:\.[A-Za-z_]\w*)+)")
_COUNT = re.compile(r"(\d+) (?:entries|rule)")


def _fields(description: str) -> str:
    names: list[str] = []
    for path in _FIELDS.findall(description):
        name = path.lstrip(".").split(".")[-1].replace("_", " ")
        if name not in names:
            names.append(name)
    if not names:
        return "the input"
    shown = names[:3] + (["more"] if len(names) > 3 else [])
    words = ", ".join(shown[:-1]) + (" and " if len(shown) > 1 else "") + shown[-1]
    return "the " + words


def what_code_does(synthesis: Synthesis) -> str:
    """'looks the answer up in a table of 12 entries by the vendor', and the like."""
    text = synthesis.description
    count = _COUNT.search(text)
    n = count.group(1) if count else "a few"
    fields = _fields(text)
    return {
        "constant": "always gives the same answer",
        "field": f"copies {fields} from the input",
        "flashfill": f"rearranges parts of {fields}",
        "template": f"fills a fixed sentence with {fields}",
        "regex": f"finds the value in {fields} with a fixed text pattern",
        "lookup": f"looks the answer up in a table of {n} entries by {fields}",
        "arithmetic": f"calculates it from {fields}",
        "object": f"builds the record from {fields}, calculating where needed",
        "list-map": f"applies the same change to each item of {fields}",
        "rules": f"decides with {n} simple rules on {fields}",
        "format": f"writes {fields} in a fixed number format",
        "text": f"rewrites the text of {fields} (initials, case, slug or a cut)",
        "date": f"reads the date in {fields} and writes it another way",
        "conditional": f"calculates it from {fields}, one way or another by a condition",
        "list-filter": f"keeps the items of {fields} that meet a condition",
        "list-join": f"joins the items of {fields} into one text",
        "list-aggregate": f"adds up or counts the items of {fields}",
        "list-to-dict": f"turns the items of {fields} into a table by their id",
    }.get(synthesis.strategy or "", "reproduces it with a small program")


def how_sure(synthesis: Synthesis) -> str:
    """'it matched 58 of 60 logged answers it had not seen (97 %)'."""
    held = synthesis.heldout_examples
    right = round(synthesis.heldout_coverage * held)
    return (
        f"it gave the logged answer for {right} of {held} examples it was not built from "
        f"({synthesis.heldout_coverage:.0%})"
    )
