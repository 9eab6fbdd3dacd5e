"""Charts for reports, drawn with matplotlib's object API (Figure, never pyplot).

Each function returns a Figure; `to_svg` inlines it in HTML (text drawn as paths, so
no font is loaded) and `to_png` writes it next to a Markdown report.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from solidify.assess.model import STAGE_NAMES, WorkflowAssessment
from solidify.assess.trends import Period

COLOURS = {
    "replace": "#2e7d32",
    "cache": "#00838f",
    "downgrade": "#1565c0",
    "harden": "#ef6c00",
    "keep": "#757575",
    None: "#b0bec5",
}
INK = "#263238"


def _figure(width: float = 7.5, height: float = 3.6) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(colors=INK, labelsize=8)
    return fig, ax


def cost_pareto(w: WorkflowAssessment, limit: int = 12) -> Figure:
    """Cost by step, largest first, with the cumulative share: where the money goes."""
    steps = sorted((s for s in w.steps if (s.cost_usd or 0) > 0), key=lambda s: -(s.cost_usd or 0))
    steps = steps[:limit]
    fig, ax = _figure(7.5, max(2.4, 0.32 * len(steps) + 1.2))
    if not steps:
        ax.text(0.5, 0.5, "no cost recorded", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    names = [s.step if len(s.step) <= 28 else s.step[:27] + "…" for s in steps][::-1]
    costs = [s.cost_usd or 0.0 for s in steps][::-1]
    colours = [COLOURS.get(s.recommendation.action, COLOURS[None]) for s in steps][::-1]
    ax.barh(names, costs, color=colours)
    ax.set_xlabel("cost over the logged period (USD)", fontsize=8, color=INK)
    total = w.cost_usd or 1.0
    running, shares = 0.0, []
    for c in [s.cost_usd or 0.0 for s in steps]:
        running += c
        shares.append(running / total)
    twin = ax.twiny()
    twin.plot(shares[::-1], names, color=INK, marker="o", markersize=3, linewidth=1)
    twin.set_xlim(0, 1.02)
    twin.set_xlabel("cumulative share of the workflow's cost", fontsize=8, color=INK)
    twin.tick_params(labelsize=8, colors=INK)
    handles = [
        Patch(color=COLOURS[a], label=a)
        for a in ("replace", "cache", "downgrade", "harden", "keep")
    ]
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="lower right")
    return fig


def failure_vs_determinism(w: WorkflowAssessment, replace_at: float = 0.95) -> Figure:
    """Each AI step by determinism and failure rate; code can take over on the right."""
    fig, ax = _figure()
    ax.axvspan(replace_at, 1.02, color=COLOURS["replace"], alpha=0.12, linewidth=0)
    ax.text(replace_at + 0.005, 0.98, "replace", transform=ax.get_xaxis_transform(),
            fontsize=8, color=COLOURS["replace"], va="top")  # fmt: skip
    steps = [s for s in w.steps if s.is_ai]
    costs = [s.cost_usd or 0.0 for s in steps]
    biggest = max(costs, default=0.0) or 1.0
    top_failure = max([s.failure_rate for s in steps] + [0.05])
    labelled: list[tuple[float, float]] = []
    # Costliest first, so that where points crowd, the label goes to the one that matters.
    for s, c in sorted(zip(steps, costs, strict=True), key=lambda sc: -sc[1]):
        colour = COLOURS.get(s.recommendation.action, COLOURS[None])
        ax.scatter(s.determinism, s.failure_rate, s=30 + 400 * c / biggest, color=colour,
                   alpha=0.75, edgecolors="white", linewidths=0.5)  # fmt: skip
        x, y = s.determinism, s.failure_rate / top_failure
        if all(abs(x - lx) > 0.08 or abs(y - ly) > 0.06 for lx, ly in labelled):
            labelled.append((x, y))
            ax.annotate(s.step[:24], (s.determinism, s.failure_rate), fontsize=7, color=INK,
                        xytext=(4, 3), textcoords="offset points")  # fmt: skip
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(bottom=0, top=top_failure * 1.25)
    ax.set_xlabel("determinism", fontsize=8, color=INK)
    ax.set_ylabel("failure rate", fontsize=8, color=INK)
    return fig


def over_time(
    periods: Sequence[Period], field: str, label: str, *, percent: bool = False
) -> Figure:
    fig, ax = _figure(7.5, 2.6)
    xs = [p.start for p in periods]
    ys = [getattr(p, field) or 0.0 for p in periods]
    ax.plot(xs, ys, color=INK, marker="o", markersize=4, linewidth=1.5)
    ax.set_ylabel(label, fontsize=8, color=INK)
    if percent:
        ax.set_ylim(0, 1.05)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    else:
        ax.set_ylim(bottom=0)
    ax.tick_params(axis="x", rotation=30)
    return fig


def stages_over_time(points: Sequence[tuple[str, int]], title: str = "stage") -> Figure:
    fig, ax = _figure(7.5, 2.4)
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    ax.step(xs, ys, where="mid", color=COLOURS["replace"], linewidth=2)
    ax.scatter(xs, ys, color=COLOURS["replace"], s=18, zorder=3)
    ax.set_ylim(0.5, 4.5)
    ax.set_yticks([1, 2, 3, 4], [f"{n} {STAGE_NAMES[n]}" for n in (1, 2, 3, 4)])
    ax.set_ylabel(title, fontsize=8, color=INK)
    ax.tick_params(axis="x", rotation=30)
    return fig


def to_svg(fig: Figure, salt: str) -> str:
    """Inline SVG: no XML prologue or DOCTYPE, ids unique per chart."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": salt}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    # matplotlib keeps each label as an (escaped) comment; drop them all the same.
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    return re.sub(r"<!--.*?-->", "", text, flags=re.S)


def to_png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    return buffer.getvalue()
