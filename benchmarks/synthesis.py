"""Time synthesis per step on 5 000 logged examples of each kind of step (one core).

    python benchmarks/synthesis.py

Target (issue 2): at most 0.5 s per step. The engine samples at most
MAX_EXAMPLES executions per step, so the time does not grow with the log.
"""

from __future__ import annotations

import json
import random
import time

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


def main() -> None:
    rng = random.Random(1)
    print(f"{N} examples per step; at most {MAX_EXAMPLES} sampled")
    print(f"{'step kind':<12} {'strategy':<12} {'held-out':>9} {'seconds':>8}")
    worst = 0.0
    for kind in ("regex", "template", "flashfill", "arithmetic", "rules", "object", "prose"):
        data = examples(kind, rng)
        start = time.perf_counter()
        found = synthesize(data)
        seconds = time.perf_counter() - start
        worst = max(worst, seconds)
        print(
            f"{kind:<12} {found.strategy or '-':<12} {found.heldout_coverage:>9.3f} {seconds:>8.3f}"
        )
    print(f"slowest step: {worst:.3f} s (target <= 0.5 s)")


if __name__ == "__main__":
    main()
