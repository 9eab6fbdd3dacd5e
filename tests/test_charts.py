"""Charts never hide a point, a label or a line behind another (checked on the rendered
figure's boxes), and their legends list what is drawn, nothing else."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Annotation

from solidify.assess.assessment import assess
from solidify.assess.ingest import read_logs
from solidify.reports import charts
from tests.conftest import record, write_jsonl


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    """Six mechanical AI steps (all on one point: determinism 1, no failure), two that are
    not, and two code steps."""
    rows = []
    for i in range(30):
        for n in range(6):
            rows.append(record(run_id=f"r{i}", step=f"copy_field_{n}", model="gpt-4o",
                               input_tokens=100, output_tokens=5, input={"v": f"x{i}"},
                               output=f"x{i}"))  # fmt: skip
        reply = f"reply {i * 7 % 11}"
        rows.append(record(run_id=f"r{i}", step="write_reply", model="gpt-4o", input_tokens=900,
                           output_tokens=300, input={"v": i}, output=reply))  # fmt: skip
        rows.append(record(run_id=f"r{i}", step="judge", model="gpt-4o", input_tokens=300,
                           output_tokens=3, input={"v": i % 4},
                           output="yes" if i % 3 else "no",
                           status="error" if i % 5 == 0 else "ok"))  # fmt: skip
        rows.append(record(run_id=f"r{i}", step="load", kind="code", output=i))
        rows.append(record(run_id=f"r{i}", step="save", kind="code", output=i))
    path = write_jsonl(tmp_path_factory.mktemp("charts") / "log.jsonl", rows)
    return assess(read_logs([str(path)]).table).workflows[0]


def _drawn(fig):
    FigureCanvasAgg(fig).draw()  # the boxes are those of the rendered picture
    return fig


def _boxes(fig, artists):
    renderer = fig.canvas.get_renderer()
    return [a.get_window_extent(renderer) for a in artists]


def test_points_on_one_spot_share_a_marker_and_every_step_is_named(workflow) -> None:
    fig = _drawn(charts.failure_vs_determinism(workflow))
    ax = fig.axes[0]
    labels = [t for t in ax.texts if isinstance(t, Annotation)]
    # The six copy_field steps sit on (1, 0): one marker, one label naming all six.
    assert any(len(t.get_text().split(",")) == 6 for t in labels)
    for a, b in combinations(_boxes(fig, labels), 2):
        assert not a.overlaps(b)
    key = " ".join(t.get_text() for t in fig.texts)
    ai_steps = [s.step for s in workflow.steps if s.is_ai]
    assert len(ai_steps) == 8 and all(name in key for name in ai_steps)
    # No point is cut by an axis: every marker lies inside the plotted range.
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    for collection in ax.collections:
        for x, y in collection.get_offsets():
            assert x0 < x < x1 and y0 < y < y1


def test_pareto_legend_lists_the_actions_drawn_and_stays_off_the_plot(workflow) -> None:
    fig = _drawn(charts.cost_pareto(workflow))
    legend = fig.legends[0]
    labels = [t.get_text() for t in legend.get_texts()]
    drawn = {s.recommendation.action for s in workflow.steps if (s.cost_usd or 0) > 0}
    assert labels == [charts.ACTION_LABELS[a] for a in charts.ACTION_LABELS if a in drawn]
    [legend_box] = _boxes(fig, [legend])
    for ax in fig.axes:
        assert not legend_box.overlaps(ax.get_window_extent(fig.canvas.get_renderer()))


def test_charts_render_to_png_and_svg(workflow, tmp_path: Path) -> None:
    png = charts.to_png(charts.failure_vs_determinism(workflow))
    assert png.startswith(b"\x89PNG")
    svg = charts.to_svg(charts.cost_pareto(workflow), salt="t")
    assert svg.startswith("<svg") and "<text" not in svg  # text drawn as paths
