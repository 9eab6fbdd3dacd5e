"""Next steps in plain words: every kind of program the search finds is said in words."""

from __future__ import annotations

import datetime
import json

from solidify.assess.synthesis.engine import synthesize
from solidify.assess.words import what_code_does


def test_a_date_reformat_is_said_in_words() -> None:
    start = datetime.date(2026, 1, 1)
    pairs = []
    for i in range(120):
        day = start + datetime.timedelta(days=i * 3)
        pairs.append((json.dumps({"due": day.isoformat()}), json.dumps(day.strftime("%B %d, %Y"))))
    found = synthesize(pairs)
    assert found.heldout_coverage == 1.0
    words = what_code_does(found)
    assert "small program" not in words, (found.strategy, words)
    assert "due" in words


def test_savings_say_what_they_were_extrapolated_from(samples_assessed) -> None:
    _, assessment = samples_assessed
    checked = 0
    for workflow in assessment.workflows:
        data = workflow.to_dict()
        for step in data["steps"]:
            savings = step["savings"]
            if savings["observed_usd"] is None:
                assert "extrapolated_from" not in savings
                continue
            basis = savings["extrapolated_from"]
            assert basis["runs"] == data["runs"]
            assert basis["days"] > 0
            per_month = savings["observed_usd"] / max(basis["days"], 1) * 30
            assert abs(savings["per_month_usd"] - per_month) <= 1e-6 * max(per_month, 1)
            checked += 1
    assert checked >= 10
