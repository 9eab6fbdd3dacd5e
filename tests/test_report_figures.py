"""Reports a manager acts on: figures defined once with their window, trends in Markdown,
next steps in words with the program one click away, no literal backticks."""

from __future__ import annotations

import re

import pytest


@pytest.fixture(scope="module")
def reports(samples_assessed) -> dict[str, object]:
    """The samples assessed once, as Markdown (its charts are files of their own; the HTML
    report of the same samples is checked in test_reports.py)."""
    from solidify.assess.trends import trends
    from solidify.reports.tables import to_markdown

    table, assessment = samples_assessed
    periods = trends(table, assessment, by="month")
    grouped: dict[str, list] = {}
    for p in periods:
        grouped.setdefault(p.workflow, []).append(p)
    md = to_markdown(assessment, periods=grouped, by="month")
    return {"r.md": md, "assessment": assessment.to_dict()}


def window_texts(page: str) -> list[str]:
    return [" ".join(page.split()).lower()]


def _section(md: str, workflow: str) -> str:
    start = md.index(f"## {workflow}")
    end = md.find("\n## ", start + 1)
    return md[start : end if end > 0 else None]


def test_markdown_report_has_the_trends(reports) -> None:
    md = _section(reports["r.md"], "release-cleanup")
    table = md[md.index("### By month") :]
    assert "| period | runs | cost per run | failure rate | AI share | stage |" in table
    assert len(re.findall(r"^\| 2026-(08|09|10)-01 \|", table, flags=re.M)) == 3


def test_headline_failure_rate_is_counted_as_the_periods_are(reports) -> None:
    md = _section(reports["r.md"], "release-cleanup")
    headline = float(re.search(r"failure rate ([\d.]+)%", md).group(1))
    periods = [float(x) for x in re.findall(r"^\| 2026-\d\d-01 \| \d+ \| \$[\d.]+ \| ([\d.]+)%",
                                             md, flags=re.M)]  # fmt: skip
    assert len(periods) == 3
    assert min(periods) - 0.05 <= headline <= max(periods) + 0.05  # a weighted average


def test_every_figure_says_its_window_and_is_defined(reports) -> None:
    for text in window_texts(str(reports["r.md"])):
        assert "these figures cover all logs, 2026-08-01 to 2026-10-" in text
        assert "the stage is measured on the latest logs, 2026-09-" in text
        assert "how each figure is counted" in text


def test_next_steps_in_words_with_the_program_for_engineers(reports) -> None:
    [triage] = [w for w in reports["assessment"]["workflows"] if w["workflow"] == "support-triage"]
    replace = [s for s in triage["maturity"]["next_steps"] if s["action"] == "replace"]
    assert replace
    for step in replace:
        assert (
            "with code that " in step["text"] and "examples it was not built from" in step["text"]
        )
        assert step["program"] and step["program"] not in step["text"]
        assert "input." not in step["text"]  # no program syntax in the words
    md = _section(reports["r.md"], "support-triage")
    assert md.count("<details><summary>the code</summary><code>") == len(replace)
