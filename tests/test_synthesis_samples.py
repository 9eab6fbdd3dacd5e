"""The bundled samples: mechanical steps are found, judgment and prose are not."""

from __future__ import annotations

import pytest

from solidify.assess.ingest import read_logs
from solidify.assess.synthesis.engine import synthesize
from tests.conftest import SAMPLES

MECHANICAL = {
    ("release-cleanup", "extract_refs"): "regex",
    ("release-cleanup", "match_item"): "object",
    ("release-cleanup", "close_item"): "object",
    ("support-triage", "extract_order_id"): "regex",
    ("support-triage", "set_priority"): "rules",
    ("support-triage", "route_ticket"): None,
    ("support-triage", "acknowledge"): "template",
    ("invoice-intake", "extract_invoice_number"): "regex",
    ("invoice-intake", "normalize_date"): "date",  # read as a date, written in another form
    ("invoice-intake", "compute_totals"): "object",
    ("invoice-intake", "vendor_cost_center"): "lookup",
    ("invoice-intake", "line_item_codes"): "list-map",
    ("invoice-intake", "to_ledger_entry"): "object",
    ("invoice-intake", "approval_route"): "rules",
}
JUDGMENT_OR_PROSE = [
    ("release-cleanup", "release_agent"),
    ("release-cleanup", "classify_item"),
    ("release-cleanup", "check_resolved"),
    ("release-cleanup", "notify_reporter"),
    ("release-cleanup", "draft_release_notes"),
    ("support-triage", "classify_intent"),
    ("support-triage", "translate_subject"),
    ("support-triage", "draft_reply"),
    ("invoice-intake", "categorize_expense"),
    ("invoice-intake", "summarize_invoice"),
]


@pytest.fixture(scope="module")
def table():
    return read_logs([str(SAMPLES)]).frame()


def _synth(table, workflow: str, step: str):
    rows = table[(table.workflow == workflow) & (table.step == step) & (table.status == "ok")]
    assert len(rows) > 20
    return synthesize(zip(rows["input"].fillna("null"), rows["output"].fillna("null"), strict=True))


@pytest.mark.parametrize(("key", "strategy"), sorted(MECHANICAL.items()))
def test_mechanical_steps_are_found(table, key, strategy) -> None:
    found = _synth(table, *key)
    assert found.heldout_coverage >= 0.95, (key, found.description, found.counterexamples)
    if strategy:
        assert found.strategy == strategy


@pytest.mark.parametrize("key", JUDGMENT_OR_PROSE)
def test_judgment_and_prose_are_not(table, key) -> None:
    assert _synth(table, *key).heldout_coverage < 0.9
