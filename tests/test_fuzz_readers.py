"""Every reader, fed mutated real files: a one-line error or skipped records, never a traceback."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solidify.assess.assessment import assess
from solidify.assess.ingest import read_logs
from solidify.errors import InputError
from tests.conftest import CORPUS

FILES = (
    sorted(p for p in CORPUS.rglob("*") if p.suffix in (".json", ".jsonl"))
    if CORPUS.is_dir()
    else []
)
needs_corpus = pytest.mark.skipif(
    not FILES, reason="../shared/corpus is absent (real public trace files)"
)

# Values that real exports hold where another type is expected (`"message": "error"`).
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.sampled_from(["", "error", "null", "{}", "[1,", "2024-13-45T99:00:00Z", "1e400"]),
    st.text(max_size=8),
    st.just([]),
    st.just({}),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["type", "id", "name", "text"]), st.text(max_size=4),
                    max_size=2),
)  # fmt: skip


def _documents(path: Path) -> tuple[list[Any], bool]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()], True
    return [json.loads(text)], False


def _places(value: Any, path: tuple = ()) -> list[tuple]:
    """Every position in a JSON value (keys of objects, indices of arrays)."""
    out = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_places(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value[:40]):
            out.extend(_places(item, (*path, index)))
    return out


def _mutate(doc: Any, place: tuple, action: str, value: Any) -> Any:
    parent = doc
    for step in place[:-1]:
        parent = parent[step]
    last = place[-1]
    if action == "delete":
        del parent[last]
    else:
        parent[last] = value
    return doc


@needs_corpus
@pytest.mark.slow  # every corpus file, mutated and assessed
@pytest.mark.parametrize("source", FILES, ids=lambda p: p.name)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_corpus_files_give_one_line_errors_or_skips(source: Path, data) -> None:
    docs, lines = _documents(source)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        which = data.draw(st.integers(0, len(docs) - 1), label="document")
        places = _places(docs[which])
        if not places:
            docs[which] = data.draw(ODD, label="whole document")
            continue
        place = data.draw(st.sampled_from(places), label="place")
        action = data.draw(st.sampled_from(["replace", "replace", "delete"]), label="action")
        docs[which] = _mutate(docs[which], place, action, data.draw(ODD, label="value"))
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / source.name
        if lines:
            texts = [json.dumps(d) for d in docs]
            if len(texts) > 1 and data.draw(st.booleans(), label="cut a line"):
                # A line cut off while it was written (a live session, a full disk).
                at = data.draw(st.integers(1, len(texts) - 1), label="line")
                texts[at] = texts[at][: data.draw(st.integers(1, max(1, len(texts[at]) - 1)))]
            target.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
        else:
            target.write_text(json.dumps(docs[0]), encoding="utf-8")
        try:
            result = read_logs([str(target)])
        except InputError as error:
            message = str(error)
            assert "\n" not in message and message.startswith(str(target)), message
            return
        with result:
            for problem in result.problems.first:
                assert "\n" not in str(problem) and str(problem).startswith(str(target))
            frame = result.frame()
        if len(frame):
            assess(frame)
