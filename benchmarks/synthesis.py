"""Everyday mechanical tasks teams hand to LLMs: is each found, and how fast (one core)?

    python benchmarks/synthesis.py [examples per task, default 1000]

Each task generates logged (input, output) pairs; the engine fits on 70 % and is
measured on the 30 % held out. Prints a table (task, strategy, held-out coverage,
seconds) and the median and slowest step. Targets (issue 13): every task found at
>= 95 % held-out coverage; median <= 0.2 s and slowest <= 1 s per step at 1 000 examples.
A free-text task closes the table: it must never be found.
"""

from __future__ import annotations

import datetime
import json
import random
import statistics
import string
import sys
import time
from collections.abc import Callable
from typing import Any

from solidify.assess.synthesis.engine import synthesize

FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "John",
    "Katherine",
    "Linus",
    "Margaret",
    "Niklaus",
    "Radia",
    "Tim",
    "Sophie",
    "Dennis",
    "Ken",
    "Hedy",
]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Backus",
    "Johnson",
    "Torvalds",
    "Hamilton",
    "Wirth",
    "Perlman",
    "Lee",
    "Wilson",
    "Ritchie",
]
WORDS = [
    "quarterly",
    "report",
    "draft",
    "budget",
    "review",
    "launch",
    "plan",
    "customer",
    "feedback",
    "summary",
    "release",
    "notes",
    "team",
    "update",
    "migration",
    "guide",
]
PRIORITY = {"urgent": "P0", "high": "P1", "normal": "P2", "low": "P3"}
COUNTRIES = {f"Country{i}": f"C{i:02d}" for i in range(90)}
Task = Callable[[random.Random], tuple[Any, Any]]


def _name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST), rng.choice(LAST)


def _date(rng: random.Random) -> datetime.date:
    return datetime.date(2025, 1, 1) + datetime.timedelta(days=rng.randint(0, 800))


def _title(rng: random.Random, k: int = 4) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, k))).capitalize()


def _items(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "id": f"L{rng.randint(100, 999)}",
            "name": rng.choice(WORDS),
            "qty": rng.randint(1, 9),
            "price": round(rng.uniform(1, 200), 2),
            "status": rng.choice(["open", "closed", "open"]),
        }
        for _ in range(rng.randint(1, 5))
    ]


def _initials(rng):
    f, la = _name(rng)
    return {"name": f"{f} {la}"}, f"{f[0]}.{la[0]}."


def _truncate(rng):
    text = _title(rng, 7)
    return {"text": text}, text if len(text) <= 24 else text[:23].rstrip() + "…"


def _discount(rng):
    total = round(rng.uniform(5, 300), 2)
    return {"total": total}, round(total * 0.9, 2) if total >= 100 else total


def _filter_open(rng):
    items = _items(rng)
    return {"lines": items}, [i["id"] for i in items if i["status"] == "open"]


def _big_lines(rng):
    items = _items(rng)
    return {"lines": items}, [i for i in items if i["price"] >= 100]


def _country(rng):
    name = rng.choice(list(COUNTRIES))
    written = rng.choice([name, name.upper(), name.lower(), f" {name}"])
    return {"country": written, "n": rng.randint(1, 9)}, COUNTRIES[name]


def _contact(rng):
    first, last = _name(rng)
    x: dict[str, Any] = {"name": f"{first} {last}", "id": rng.randint(1, 9999)}
    if rng.random() < 0.5:
        x["email"] = f"{first.lower()}@{last.lower()}.org"
    y = {"customer": x["name"], "id": x["id"]}
    if "email" in x:
        y["email"] = x["email"]  # the key only when the input has the field
    return x, y


def _note(rng):
    x = {"id": rng.randint(1, 9999), "note": rng.choice([None, None, _title(rng)])}
    y = {"id": x["id"]}
    if x["note"] is not None:
        y["note"] = x["note"]  # the key only when the value is not null
    return x, y


def _po(rng):
    po = f"PO-{rng.randint(10000, 99999)}" if rng.random() < 0.6 else None
    text = f"{_title(rng)} {po} {_title(rng)}" if po else _title(rng)
    y = {"chars": len(text)}
    if po:
        y["po"] = po  # a computed value, written only when one is found
    return {"text": text}, y


def _shipping(rng):
    total = round(rng.uniform(5, 150), 2)
    y = {"id": f"A{rng.randint(1000, 9999)}", "total": total}
    if total < 50:
        y["shipping"] = 4.9  # the key only under a threshold
    return {"order": y["id"], "total": total}, y


def _optional_discounts(rng):
    lines = []
    for _ in range(rng.randint(1, 4)):
        line: dict[str, Any] = {"sku": rng.choice(WORDS), "qty": rng.randint(1, 9)}
        if rng.random() < 0.4:
            line["discount"] = rng.choice([5, 10, 15])
        lines.append(line)
    out = []
    for line in lines:
        item = {"sku": line["sku"].upper(), "qty": line["qty"]}
        if "discount" in line:
            item["discount"] = line["discount"]
        out.append(item)
    return {"lines": lines}, out


TASKS: dict[str, Task] = {
    # text
    "initials with dots": _initials,
    "initials": lambda r: (lambda f, la: ({"name": f"{f} {la}"}, f[0] + la[0]))(*_name(r)),
    "slug of a title": lambda r: (lambda t: ({"title": t + "!"}, "-".join(t.lower().split())))(
        _title(r)
    ),
    "first 3 characters": lambda r: (lambda c: ({"code": c}, c[:3]))(
        "".join(r.choice(string.ascii_uppercase) for _ in range(8))
    ),
    "truncate with ellipsis": _truncate,
    "upper case": lambda r: (lambda c: ({"country": c}, c.upper()))(r.choice(["de", "fr", "it"])),
    "last, first initial": lambda r: (lambda f, la: ({"first": f, "last": la}, f"{la}, {f[0]}."))(
        *_name(r)
    ),
    "last 4 digits of a card": lambda r: (lambda d: ({"card": f"4111 1111 1111 {d}"}, d))(
        f"{r.randint(0, 9999):04d}"
    ),
    "email domain": lambda r: (lambda f, d: ({"email": f"{f.lower()}@{d}"}, d))(
        r.choice(FIRST), r.choice(["example.com", "mail.org", "corp.io"])
    ),
    "full name": lambda r: (lambda f, la: ({"first": f, "last": la}, f"{f} {la}"))(*_name(r)),
    "title case": lambda r: (lambda t: ({"t": t.lower()}, t.title()))(_title(r)),
    # numbers
    "zero-padded invoice number": lambda r: (lambda n: ({"n": n}, f"INV-{n:05d}"))(
        r.randint(1, 99999)
    ),
    "percent with one decimal": lambda r: (lambda v: ({"ratio": v}, f"{v:.1%}"))(
        round(r.uniform(0, 1), 4)
    ),
    "one decimal": lambda r: (lambda v: ({"v": v}, f"{v:.1f}"))(round(r.uniform(0, 100), 3)),
    "thousands without decimals": lambda r: (lambda v: ({"amount": v}, f"{v:,.0f}"))(
        round(r.uniform(1000, 9e6), 2)
    ),
    "currency text times quantity": lambda r: (
        lambda p, q: ({"price": f"${p:,.2f}", "qty": q}, round(p * q, 2))
    )(round(r.uniform(1, 3000), 2), r.randint(1, 9)),
    "VAT 19 %": lambda r: (lambda n: ({"net": n}, round(n * 1.19, 2)))(round(r.uniform(1, 900), 2)),
    "Celsius to Fahrenheit": lambda r: (lambda c: ({"celsius": c}, round(c * 1.8 + 32, 1)))(
        round(r.uniform(-30, 45), 1)
    ),
    "kg to lb": lambda r: (lambda kg: ({"kg": kg}, round(kg * 2.20462, 2)))(
        round(r.uniform(0.1, 150), 2)
    ),
    "fee subtracted": lambda r: (lambda a: ({"amount": a}, round(a - 2.5, 2)))(
        round(r.uniform(10, 500), 2)
    ),
    "larger of two": lambda r: (lambda a, b: ({"a": a, "b": b}, max(a, b)))(
        r.randint(0, 999), r.randint(0, 999)
    ),
    "smaller of two": lambda r: (lambda a, b: ({"bid": a, "ask": b}, min(a, b)))(
        round(r.uniform(1, 99), 2), round(r.uniform(1, 99), 2)
    ),
    "sum of line items": lambda r: (
        lambda items: ({"lines": items}, round(sum(i["qty"] * i["price"] for i in items), 2))
    )(_items(r)),
    "number of items": lambda r: (lambda items: ({"lines": items}, len(items)))(_items(r)),
    "sum of a list": lambda r: (lambda v: ({"values": v}, sum(v)))(
        [r.randint(0, 50) for _ in range(r.randint(1, 6))]
    ),
    "discount above 100": _discount,
    # dates
    "ISO date to month name": lambda r: (
        lambda d: ({"date": d.isoformat()}, f"{d:%B} {d.day}, {d.year}")
    )(_date(r)),
    "weekday of a date": lambda r: (lambda d: ({"date": d.isoformat()}, f"{d:%A}"))(_date(r)),
    "due in 30 days": lambda r: (
        lambda d: ({"issued": d.isoformat()}, (d + datetime.timedelta(days=30)).isoformat())
    )(_date(r)),
    "European to ISO date": lambda r: (lambda d: ({"date": f"{d:%d/%m/%Y}"}, d.isoformat()))(
        _date(r)
    ),
    "written date to dotted": lambda r: (
        lambda d: ({"date": f"{d:%B} {d.day}, {d.year}"}, f"{d:%d.%m.%Y}")
    )(_date(r)),
    "month of a date": lambda r: (lambda d: ({"date": d.isoformat()}, f"{d:%B}"))(_date(r)),
    "date inside a sentence": lambda r: (
        lambda d, n: ({"due": d.isoformat(), "ref": n}, f"Invoice {n} is due on {d:%d %B %Y}.")
    )(_date(r), f"INV-{r.randint(100, 999)}"),
    # lists
    "join tags": lambda r: (lambda t: ({"tags": t}, ", ".join(t)))(
        r.sample(WORDS, r.randint(1, 4))
    ),
    "join item names": lambda r: (
        lambda items: ({"lines": items}, " / ".join(i["name"] for i in items))
    )(_items(r)),
    "ids of open lines": _filter_open,
    "lines of 100 or more": _big_lines,
    "lines by id": lambda r: (
        lambda items: ({"lines": items}, {i["id"]: i["name"] for i in items})
    )(_items(r)),
    "upper-case every tag": lambda r: (lambda t: ({"tags": t}, [w.upper() for w in t]))(
        r.sample(WORDS, r.randint(1, 4))
    ),
    # tables and objects
    "country code, 90 keys, any case": _country,
    "vendor to cost centre": lambda r: (lambda v: ({"vendor": v}, f"CC-{sum(map(ord, v)) % 7}"))(
        r.choice(LAST)
    ),
    "table then template": lambda r: (
        lambda p, t: ({"priority": p, "ticket": t}, f"[{PRIORITY[p]}] ticket {t}")
    )(r.choice(list(PRIORITY)), r.randint(1000, 9999)),
    "ledger entry": lambda r: (
        lambda n, a: ({"n": n, "amount": a}, {"ref": f"INV-{n:05d}", "total": f"{a:,.2f}"})
    )(r.randint(1, 99999), round(r.uniform(1, 9e4), 2)),
    # objects with optional keys
    "email only when given": _contact,
    "note only when not null": _note,
    "PO number only when found": _po,
    "lines with optional discount": _optional_discounts,
    "shipping fee only under 50": _shipping,
}
FREE_TEXT = "free-text reply (never found)"


def examples(task: Task, n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs = (task(rng) for _ in range(n))
    return [(json.dumps(x, sort_keys=True), json.dumps(y, sort_keys=True)) for x, y in pairs]


def free_text(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        x = {"topic": rng.choice(["billing", "login", "shipping"]), "n": i}
        y = " ".join(rng.choice(WORDS) for _ in range(10))
        out.append((json.dumps(x), json.dumps(y)))
    return out


def measure(n: int) -> list[tuple[str, str, float, float]]:
    rows = []
    for i, (name, task) in enumerate([*TASKS.items(), (FREE_TEXT, None)]):
        data = free_text(n, i) if task is None else examples(task, n, i)
        start = time.perf_counter()
        found = synthesize(data)
        seconds = time.perf_counter() - start
        rows.append((name, found.strategy or "-", found.heldout_coverage, seconds))
    return rows


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rows = measure(n)
    print(f"{n} examples per task\n")
    print("| task | strategy | held-out coverage | seconds |")
    print("|---|---|---:|---:|")
    for name, strategy, coverage, seconds in rows:
        print(f"| {name} | {strategy} | {coverage:.3f} | {seconds:.3f} |")
    times = [r[3] for r in rows]
    found = sum(1 for r in rows[:-1] if r[2] >= 0.95)
    print(f"\nfound at >= 95 %: {found} of {len(rows) - 1} tasks; free text: {rows[-1][2]:.3f}")
    print(f"median step {statistics.median(times):.3f} s, slowest {max(times):.3f} s")


if __name__ == "__main__":
    main()
