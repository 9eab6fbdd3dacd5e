"""Time synthesis per step on 5 000 logged examples of each kind of step (one core).

    python benchmarks/decomposition.py

Target (issue 2): at most 0.5 s per step. The engine samples at most
MAX_EXAMPLES executions per step, so the time does not grow with the log.

Then the same steps logged in chat form (system and user messages rendered from a
template, the answer as text or fenced JSON), searched with prompt decomposition in
front (issue 11: decomposition and format learning add at most 20 % per step).
"""

from __future__ import annotations

import json
import random
import time

from solidify.assess.prompts import fit as prompts
from solidify.assess.synthesis.engine import MAX_EXAMPLES, synthesize

N = 5000


def examples(kind: str, rng: random.Random) -> list[tuple[str, str]]:
    out = []
    for i in range(N):
        if kind == "regex":
            order = f"{rng.choice('ABC')}-{rng.randint(10000, 99999)}"
            x = {"subject": "Order", "body": f"Call +1-555-{i:04d}. My order {order} is late."}
            y = order
        elif kind == "template":
            name = f"Name{rng.randint(1, 500)} Last{rng.randint(1, 500)}"
            x = {"customer_name": name, "ticket": f"T-{i}"}
            y = f"Hi {name.split()[0]}, ticket T-{i} is open."
        elif kind == "flashfill":
            d, m = rng.randint(1, 28), rng.randint(1, 12)
            x, y = {"date": f"{d:02d}/{m:02d}/2026"}, f"2026-{m:02d}-{d:02d}"
        elif kind == "arithmetic":
            net, rate = round(rng.uniform(10, 9000), 2), rng.choice([0.07, 0.19, 0.2])
            x, y = {"net": net, "vat_rate": rate}, round(net * (1 + rate), 2)
        elif kind == "rules":
            tier, total = rng.choice(["free", "pro", "enterprise"]), round(rng.uniform(5, 600), 2)
            x = {"tier": tier, "order_total": total, "intent": rng.choice(["a", "b"])}
            y = "P1" if tier == "enterprise" else "P2" if total >= 200 else "P3"
        elif kind == "object":
            x = {
                "invoice": {
                    "number": f"INV-{i}",
                    "vendor": {"name": f"V{rng.randint(1, 40)}"},
                    "net": rng.randint(1, 9999),
                },
                "meta": {"m": i},
            }
            y = {
                "doc_no": x["invoice"]["number"],
                "supplier": x["invoice"]["vendor"]["name"],
                "amount": x["invoice"]["net"],
            }
        else:  # prose: nothing to find, the search runs to its end
            x = {"topic": rng.choice(["billing", "login", "shipping"]), "n": i}
            y = " ".join(
                rng.choice(["We", "will", "look", "into", "it", "soon", "thanks"])
                for _ in range(10)
            )
        out.append((json.dumps(x, sort_keys=True), json.dumps(y, sort_keys=True)))
    return out


def chat_form(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The same examples as an application with a tracer logs them."""
    out = []
    for x_text, y_text in pairs:
        x, y = json.loads(x_text), json.loads(y_text)
        lines = [f"{k.replace('_', ' ').capitalize()}: "
                 + (json.dumps(v) if isinstance(v, (dict, list)) else str(v))
                 for k, v in sorted(x.items())]  # fmt: skip
        messages = [
            {"role": "system", "content": "You are a careful clerk. Answer only."},
            {"role": "user", "content": "\n".join(lines) + "\n\nWhat is the answer?"},
        ]
        if isinstance(y, dict):
            answer = "```json\n" + json.dumps(y, indent=2) + "\n```"
        else:
            answer = y if isinstance(y, str) else json.dumps(y)
        out.append((json.dumps(messages, sort_keys=True), json.dumps(answer)))
    return out


KINDS = ("regex", "template", "flashfill", "arithmetic", "rules", "object", "prose")


def timed(search, data: list[tuple[str, str]], repeat: int = 3) -> tuple[object, float]:
    """The result and the best of `repeat` timings (the machine is shared); the result
    whose decomposition was fastest."""
    best = float("inf")
    kept = None
    for _ in range(repeat):
        start = time.perf_counter()
        found = search(data)
        best = min(best, time.perf_counter() - start)
        decompose = getattr(found, "decompose_seconds", 0.0)
        if kept is None or decompose < getattr(kept, "decompose_seconds", 0.0):
            kept = found
    return kept, best


def main() -> None:
    print(f"{N} examples per step; at most {MAX_EXAMPLES} sampled")
    print(f"{'step kind':<12} {'strategy':<12} {'held-out':>9} {'seconds':>8} "
          f"{'with decomposition':>19}")  # fmt: skip
    rng = random.Random(1)
    worst = plain_total = checked_total = 0.0
    tidy: dict[str, float] = {}
    for kind in KINDS:
        data = examples(kind, rng)
        found, seconds = timed(synthesize, data)
        # The same step through the assessment's entry, which looks for a prompt first.
        _, checked = timed(prompts.synthesize, data)
        worst = max(worst, seconds)
        plain_total, checked_total = plain_total + seconds, checked_total + checked
        tidy[kind] = seconds
        print(f"{kind:<12} {found.strategy or '-':<12} {found.heldout_coverage:>9.3f} "
              f"{seconds:>8.3f} {checked:>19.3f}")  # fmt: skip
    print(f"slowest step: {worst:.3f} s (target <= 0.5 s)")
    print(f"looking for a prompt adds {checked_total / plain_total - 1:.1%} on these steps "
          "(target <= 20 %)")  # fmt: skip
    print()
    print("the same steps in chat form, decomposed, then searched on their slots")
    print(f"{'step kind':<12} {'strategy':<12} {'held-out':>9} {'seconds':>8} "
          f"{'decompose':>9} {'tidy':>6}")  # fmt: skip
    rng = random.Random(1)
    total = total_decompose = 0.0
    for kind in KINDS:
        found, seconds = timed(prompts.synthesize, chat_form(examples(kind, rng)))
        decompose = getattr(found, "decompose_seconds", 0.0)
        total, total_decompose = total + seconds, total_decompose + decompose
        print(f"{kind:<12} {found.strategy or '-':<12} {found.heldout_coverage:>9.3f} "
              f"{seconds:>8.3f} {decompose:>9.3f} {tidy[kind]:>6.3f}")  # fmt: skip
    print(
        f"chat form: {total / len(KINDS):.3f} s per step, of which decomposition "
        f"{total_decompose / len(KINDS):.3f} s; tidy logs: {plain_total / len(KINDS):.3f} s"
    )


if __name__ == "__main__":
    main()
