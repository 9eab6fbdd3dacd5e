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


ACTION_LABELS = {
    "replace": "replace with code",
    "cache": "cache",
    "downgrade": "cheaper model",
    "harden": "harden",
    "keep": "keep AI",
    None: "code or tool (no action)",
}


def _legend(fig: Figure, actions: Sequence[str | None]) -> None:
    """A legend of the actions the chart shows, and only those, outside the plot: it never
    covers a bar, a point or a line."""
    present = [a for a in ACTION_LABELS if a in set(actions)]
    handles = [Patch(color=COLOURS[a], label=ACTION_LABELS[a]) for a in present]
    if handles:
        fig.legend(handles=handles, fontsize=7, frameon=False, loc="outside lower center",
                   ncols=min(len(handles), 6))  # fmt: skip


def _short(name: str, limit: int = 28) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def cost_pareto(w: WorkflowAssessment, limit: int = 12) -> Figure:
    """Cost by step, largest first, with the cumulative share: where the money goes.
    Steps beyond `limit` are drawn as one bar that says how many they are."""
    ranked = sorted((s for s in w.steps if (s.cost_usd or 0) > 0), key=lambda s: -(s.cost_usd or 0))
    steps, rest = ranked[:limit], ranked[limit:]
    fig, ax = _figure(7.5, max(2.6, 0.32 * (len(steps) + bool(rest)) + 1.6))
    if not steps:
        ax.text(0.5, 0.5, "no cost recorded", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    names = [_short(s.step) for s in steps]
    costs = [s.cost_usd or 0.0 for s in steps]
    actions = [s.recommendation.action for s in steps]
    if rest:
        names.append(f"{len(rest)} other steps")
        costs.append(sum(s.cost_usd or 0.0 for s in rest))
        actions.append("other")
    colours = [COLOURS.get(a, "#dde3e6") for a in actions]
    positions = list(range(len(names)))[::-1]  # largest at the top
    ax.barh(positions, costs, color=colours)
    ax.set_yticks(positions, names)
    ax.set_xlabel("cost over the logged period (USD)", fontsize=8, color=INK)
    total = w.cost_usd or sum(costs) or 1.0
    running, shares = 0.0, []
    for c in costs:
        running += c
        shares.append(running / total)
    twin = ax.twiny()
    twin.plot(shares, positions, color=INK, marker="o", markersize=3, linewidth=1)
    twin.set_xlim(0, 1.02)
    twin.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    twin.set_xlabel("cumulative share of the workflow's cost", fontsize=8, color=INK)
    twin.tick_params(labelsize=8, colors=INK)
    _legend(fig, [a for a in actions if a != "other"])
    return fig


def _clusters(points: list[tuple[float, float]], dx: float, dy: float) -> list[list[int]]:
    """Indices of points grouped when they lie within (dx, dy) of a group's first point:
    such points would hide each other, so they share one marker and one label."""
    groups: list[list[int]] = []
    for i, (x, y) in enumerate(points):
        for group in groups:
            gx, gy = points[group[0]]
            if abs(x - gx) <= dx and abs(y - gy) <= dy:
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


def failure_vs_determinism(w: WorkflowAssessment, replace_at: float = 0.95) -> Figure:
    """Each AI step by determinism and failure rate; code can take over on the right.

    Every step is numbered and listed under the chart; steps that sit on (nearly) the
    same point share one marker labelled with all their numbers, so none is hidden."""
    steps = sorted((s for s in w.steps if s.is_ai), key=lambda s: -(s.cost_usd or 0.0))
    top_failure = max([s.failure_rate for s in steps] + [0.05])
    points = [(s.determinism, s.failure_rate) for s in steps]
    groups = _clusters(points, 0.03, top_failure * 0.05)
    fig, ax = _figure(7.5, 3.4 + 0.16 * ((len(steps) + 2) // 3))
    ax.axvspan(replace_at, 1.06, color=COLOURS["replace"], alpha=0.12, linewidth=0)
    ax.text(replace_at - 0.01, 0.98, "code can take over →", transform=ax.get_xaxis_transform(),
            fontsize=7, color=COLOURS["replace"], va="top", ha="right")  # fmt: skip
    biggest = max((s.cost_usd or 0.0 for s in steps), default=0.0) or 1.0
    for group in groups:
        members = [steps[i] for i in group]
        x, y = points[group[0]]
        cost = sum(s.cost_usd or 0.0 for s in members)
        lead = members[0].recommendation.action
        size = 30 + 400 * min(1.0, cost / biggest)
        ax.scatter([x], [y], s=size, color=COLOURS.get(lead), alpha=0.75, edgecolors="white",
                   linewidths=0.5, clip_on=False, zorder=3)  # fmt: skip
        numbers = ",".join(str(i + 1) for i in group)
        radius = size**0.5 / 2  # points: the label starts beside the marker, not on it
        ax.annotate(numbers, (x, y), fontsize=7, color=INK, xytext=(radius + 2, radius / 2),
                    textcoords="offset points", annotation_clip=False)  # fmt: skip
    ax.set_xlim(-0.04, 1.06)
    ax.set_ylim(bottom=-top_failure * 0.06, top=top_failure * 1.25)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}" if v >= 0 else "")
    ax.set_xlabel("determinism (same input, same output)", fontsize=8, color=INK)
    ax.set_ylabel("failure rate", fontsize=8, color=INK)
    if steps:
        key = [f"{i + 1} {_short(s.step, 24)}: {s.recommendation.action or '-'}"
               for i, s in enumerate(steps)]  # fmt: skip
        rows = [key[i : i + 3] for i in range(0, len(key), 3)]
        text = "\n".join("  ".join(f"{cell:<38}" for cell in row).rstrip() for row in rows)
        fig.text(0.01, 0.01, text, fontsize=7, color=INK, family="monospace", va="bottom")
        bottom = 0.16 * len(rows) / fig.get_figheight() + 0.03  # room for the key
        fig.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom))
    else:
        ax.text(0.5, 0.5, "no AI step", ha="center", va="center", transform=ax.transAxes)
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
