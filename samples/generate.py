"""Generate the bundled sample logs (seeded: the same files every time).

    python samples/generate.py            # rewrites the files next to this script
    python samples/generate.py OUT_DIR    # writes them to OUT_DIR instead

Four workflows:
  release-cleanup  three months: pure AI (an agent), hybrid, orchestrated
  support-triage   ticket intake: extraction, rules, lookups, templates, judgment, prose
  invoice-intake   (CSV) numbers, dates, projections, thresholds, judgment, prose
  order-desk       logged in chat form, as an SDK with a tracer logs it: system and user
                   messages rendered from templates in, the assistant's text out

Mechanical steps are real functions of their input, so that synthesis has
something true to find; judgment and generative steps vary like a model does.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SEED = 20261124

# ---------------------------------------------------------------- shared helpers


class Log:
    """Collects canonical records with plausible timing, tokens and failures."""

    def __init__(self, rng: random.Random, workflow: str) -> None:
        self.rng = rng
        self.workflow = workflow
        self.records: list[dict[str, Any]] = []
        self.clock = datetime(2026, 1, 1, tzinfo=timezone.utc)
        self.run_id = ""
        self.span = 0

    def start_run(self, run_id: str, when: datetime) -> None:
        self.run_id = run_id
        self.clock = when

    def _tokens(self, value: Any) -> int:
        return max(1, len(json.dumps(value, ensure_ascii=False)) // 4)

    def step(
        self,
        step: str,
        kind: str,
        inp: Any,
        out: Any,
        *,
        model: str | None = None,
        provider: str | None = None,
        prompt_tokens: int = 0,
        fail_rate: float = 0.0,
        retries: int = 0,
        parent: str | None = None,
        cache_read: int = 0,
        soft_fail: float = 0.0,
    ) -> tuple[str, bool]:
        """Log one step; failures may be retried. Returns (span id, succeeded)."""
        attempt = 1
        while True:
            self.span += 1
            span_id = f"s{self.span:07d}"
            failed = self.rng.random() < fail_rate
            status, error, output = "ok", None, out
            if failed:
                status = self.rng.choice(["error", "error", "timeout"])
                error = (
                    "request timed out after 60s"
                    if status == "timeout"
                    else self.rng.choice(
                        [
                            "overloaded_error: Overloaded",
                            "rate_limit_error: Number of request tokens has exceeded your"
                            " per-minute rate limit",
                            "invalid_request_error: output did not match the requested schema",
                        ]
                    )
                )
                output = None
            elif soft_fail and self.rng.random() < soft_fail:
                output = ""
            if kind in ("llm", "agent"):
                duration = self.rng.uniform(600, 4500) + 8 * self._tokens(out)
                if status == "timeout":
                    duration = 60_000.0
            elif kind == "tool":
                duration = self.rng.uniform(80, 700)
            else:
                duration = self.rng.uniform(2, 40)
            start = self.clock
            end = start + timedelta(milliseconds=duration)
            self.clock = end + timedelta(milliseconds=self.rng.uniform(1, 30))
            record: dict[str, Any] = {
                "workflow": self.workflow,
                "run_id": self.run_id,
                "step": step,
                "kind": kind,
                "status": status,
                "attempt": attempt,
                "started_at": start.isoformat().replace("+00:00", "Z"),
                "ended_at": end.isoformat().replace("+00:00", "Z"),
                "input": inp,
                "output": output,
                "step_id": span_id,
            }
            if parent:
                record["parent_id"] = parent
            if error:
                record["error"] = error
            if model:
                input_tokens = prompt_tokens + self._tokens(inp)
                record.update(
                    model=model,
                    provider=provider,
                    input_tokens=input_tokens + cache_read,
                    output_tokens=0 if failed else self._tokens(out) + self.rng.randint(0, 12),
                )
                if cache_read:
                    record["cache_read_tokens"] = cache_read
            self.records.append(record)
            if not failed or attempt > retries:
                return span_id, not failed
            attempt += 1
            self.clock += timedelta(seconds=2**attempt)


def pick(rng: random.Random, options: list[str]) -> str:
    return options[rng.randrange(len(options))]


def prose(rng: random.Random, parts: list[list[str]]) -> str:
    """Text that varies like a model's: each sentence picked and some dropped."""
    sentences = [
        pick(rng, options) for options in parts if rng.random() > 0.15 or options is parts[0]
    ]
    return " ".join(sentences)


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if path.suffix == ".gz":
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            f.write(text.encode())
    else:
        path.write_text(text, encoding="utf-8")


def write_csv(path: Path, records: list[dict[str, Any]]) -> None:
    fields = [
        "workflow", "run_id", "step", "kind", "status", "attempt", "started_at", "ended_at",
        "model", "provider", "input_tokens", "output_tokens", "cache_read_tokens", "input",
        "output", "error", "step_id", "parent_id",
    ]  # fmt: skip
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in records:
        row = dict(r)
        for key in ("input", "output"):
            row[key] = "" if r.get(key) is None else json.dumps(r[key], ensure_ascii=False)
        writer.writerow({k: row.get(k, "") for k in fields})
    path.write_text(buffer.getvalue(), encoding="utf-8")


# ---------------------------------------------------------------- release clean-up

FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kemal", "Lena", "Mateo", "Nora", "Oskar", "Priya", "Quinn", "Rosa", "Sven", "Tomás"]  # fmt: skip
LAST = ["Novak", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Schmidt", "Rossi", "Kowalski",
        "García", "Haddad", "Ivanova", "Brennan", "Sato", "Müller", "Costa"]  # fmt: skip
REPOS = ["acme/web", "acme/api", "acme/mobile", "acme/billing"]
SUBJECTS = {
    "bug fix": ["crash when saving drafts", "wrong total on invoices with discounts",
                "login loop on Safari", "timezone shift in exported reports",
                "duplicate notifications after reconnect", "broken pagination in search",
                "memory leak in image uploads", "CSV export drops unicode names"],
    "feature": ["dark mode for the dashboard", "bulk archive for projects", "SSO with Okta",
                "webhooks for invoice events", "keyboard shortcuts in the editor",
                "custom fields on tasks", "export to Parquet", "two-factor recovery codes"],
    "improvement": ["faster search indexing", "clearer error on expired links",
                    "smaller mobile bundle", "better empty states", "retry failed uploads",
                    "quicker dashboard load", "tidier settings page", "more helpful 404 page"],
}  # fmt: skip
VERBS = {"bug fix": ["Fix", "Fix", "Resolve", "Patch"], "feature": ["Add", "Support", "Implement"],
         "improvement": ["Improve", "Speed up", "Polish", "Tune"]}  # fmt: skip


def make_ref(rng: random.Random) -> tuple[str, str, str]:
    """A tracked-item reference as it appears in a commit: (ref, channel, id)."""
    roll = rng.random()
    if roll < 0.55:
        number = str(rng.randint(100, 4999))
        return f"#{number}", "github", number
    if roll < 0.8:
        number = str(rng.randint(10, 999))
        return f"CANNY-{number}", "canny", number
    number = str(rng.randint(1000, 9999))
    return f"TD-{number}", "todoist", number


def commit_message(rng: random.Random, cls: str, subject: str, refs: list[str]) -> str:
    verb = pick(rng, VERBS[cls])
    text = f"{verb} {subject}"
    if rng.random() < 0.12:
        text += pick(rng, [" (UTF-8 safe)", " for ISO-8601 dates", " on HTTP-2 proxies"])
    if refs:
        style = rng.random()
        if style < 0.5:
            text += " (" + ", ".join(refs) + ")"
        elif style < 0.8:
            text += ". Closes " + " and ".join(refs)
        else:
            text = f"[{refs[0]}] " + text + ("" if len(refs) == 1 else f", see {refs[1]}")
    return text


def classify_like_a_model(rng: random.Random, truth: str) -> str:
    # A judgment call: mostly right, sometimes not, and not readable off keywords.
    if rng.random() < 0.72:
        return truth
    return pick(rng, ["bug fix", "feature", "improvement"])


def release_cleanup(rng: random.Random, month: int) -> list[dict[str, Any]]:
    log = Log(rng, "release-cleanup")
    base = datetime(2026, 7 + month, 1, 8, tzinfo=timezone.utc)
    sonnet = {"model": "claude-sonnet-4-5", "provider": "anthropic"}
    haiku = {"model": "claude-haiku-4-5", "provider": "anthropic"}
    item_memory: dict[str, dict[str, Any]] = {}
    for n in range(24):
        repo = pick(rng, REPOS)
        release = f"v2.{month * 10 + n // 4}.{n % 4}"
        log.start_run(
            f"rc-{month}-{n:03d}", base + timedelta(days=n * 1.2, minutes=rng.randint(0, 300))
        )
        agent = None
        if month == 1:
            agent, _ = log.step(
                "release_agent",
                "agent",
                {"repo": repo, "release": release},
                prose(
                    rng,
                    [
                        [
                            f"Done with {release}.",
                            f"Release {release} of {repo} is processed.",
                            f"I have finished the clean-up for {repo} {release}.",
                        ],
                        [
                            "All referenced items were reviewed.",
                            "Items were closed and reporters notified.",
                            "Two items needed a closer look.",
                        ],
                    ],
                ),
                **sonnet,
                prompt_tokens=2400,
            )
        commits = []
        for _ in range(rng.randint(7, 14)):
            cls = rng.choice(list(SUBJECTS))
            subject = pick(rng, SUBJECTS[cls])
            refs = [make_ref(rng) for _ in range(rng.choice([0, 1, 1, 1, 2]))]
            sha = f"{rng.getrandbits(28):07x}"
            commits.append(
                {
                    "sha": sha,
                    "message": commit_message(rng, cls, subject, [r[0] for r in refs]),
                    "author": pick(rng, FIRST).lower(),
                    "_refs": refs,
                    "_cls": cls,
                    "_subject": subject,
                }
            )
        public = [{k: v for k, v in c.items() if not k.startswith("_")} for c in commits]
        fetch_in = {"repo": repo, "from_tag": f"{release}-rc", "to_tag": release}
        if month == 1:
            log.step(
                "fetch_commits", "llm", fetch_in, public, **sonnet, prompt_tokens=1800, parent=agent
            )
            log.step("github.compare", "tool", fetch_in, public, parent=agent)
        else:
            log.step("fetch_commits", "code", fetch_in, public)
        for c in commits:
            refs_out = [r[0] for r in c["_refs"]]
            inp = {"sha": c["sha"], "message": c["message"]}
            if month == 3:
                log.step("extract_refs", "code", inp, refs_out)
            else:
                log.step(
                    "extract_refs",
                    "llm",
                    inp,
                    refs_out,
                    **sonnet,
                    prompt_tokens=900,
                    fail_rate=0.01,
                    parent=agent,
                )
            for ref, channel, item_id in c["_refs"]:
                match = {"channel": channel, "item_id": item_id}
                if month == 1:
                    log.step(
                        "match_item",
                        "llm",
                        {"ref": ref, "repo": repo},
                        match,
                        **sonnet,
                        prompt_tokens=700,
                        parent=agent,
                        fail_rate=0.01,
                    )
                else:
                    log.step("match_item", "code", {"ref": ref, "repo": repo}, match)
                key = f"{channel}:{item_id}"
                item = item_memory.setdefault(
                    key,
                    {
                        "title": c["_subject"][0].upper() + c["_subject"][1:],
                        "reporter": f"{pick(rng, FIRST)} {pick(rng, LAST)}",
                        "labels": rng.sample(
                            ["ui", "backend", "customer", "p2", "regression", "needs-info"], 2
                        ),
                        "_cls": c["_cls"],
                    },
                )
                public_item = {k: v for k, v in item.items() if not k.startswith("_")}
                if month == 1:
                    log.step(
                        "fetch_item",
                        "llm",
                        match,
                        public_item,
                        **sonnet,
                        prompt_tokens=800,
                        parent=agent,
                    )
                    log.step(f"{channel}.get_item", "tool", match, public_item, parent=agent)
                else:
                    log.step("fetch_item", "code", match, public_item)
                cls_in = {"title": item["title"], "labels": item["labels"], "commit": c["message"]}
                label = classify_like_a_model(rng, item["_cls"])
                if month == 3:
                    log.step(
                        "classify_item",
                        "llm",
                        cls_in,
                        label,
                        **haiku,
                        prompt_tokens=600,
                        fail_rate=0.05,
                        retries=2,
                        cache_read=500,
                    )
                    log.step(
                        "validate_classification",
                        "code",
                        {"label": label},
                        {"valid": label in SUBJECTS},
                    )
                else:
                    log.step(
                        "classify_item",
                        "llm",
                        cls_in,
                        label,
                        **sonnet,
                        prompt_tokens=600,
                        fail_rate=0.04,
                        parent=agent,
                    )
                resolved_in = {"title": item["title"], "commit": c["message"], "release": release}
                resolved = rng.random() < 0.93
                if month == 3:
                    log.step("check_resolved", "code", resolved_in, {"resolved": True})
                else:
                    log.step(
                        "check_resolved",
                        "llm",
                        resolved_in,
                        {
                            "resolved": resolved,
                            "note": pick(
                                rng,
                                [
                                    "The commit message references the item directly.",
                                    "Commit addresses the reported problem.",
                                    "Looks complete based on the change description.",
                                    "Partially addressed; follow-up may be needed.",
                                ],
                            ),
                        },
                        **sonnet,
                        prompt_tokens=700,
                        parent=agent,
                        fail_rate=0.02,
                    )
                close_in = {"channel": channel, "item_id": item_id, "release": release}
                close_out = {
                    "action": "close",
                    "channel": channel,
                    "item_id": item_id,
                    "comment": f"Released in {release}. Thank you for the report!",
                }
                if month == 1:
                    log.step(
                        "close_item",
                        "llm",
                        close_in,
                        close_out,
                        **sonnet,
                        prompt_tokens=650,
                        parent=agent,
                        fail_rate=0.02,
                    )
                    log.step(f"{channel}.update_item", "tool", close_in, {"ok": True}, parent=agent)
                else:
                    log.step("close_item", "code", close_in, close_out)
                first = item["reporter"].split()[0]
                message = prose(
                    rng,
                    [
                        [f"Hi {first},", f"Hello {first}!", f"Hey {first},"],
                        [
                            f'good news: "{item["title"]}" shipped in {release}.',
                            f"the change you asked for ({item['title'].lower()}) is live in {release}.",
                            f"{release} is out and it includes {item['title'].lower()}.",
                        ],
                        [
                            "Thanks for taking the time to report it.",
                            "Your feedback made this happen.",
                            "We appreciate you flagging this.",
                        ],
                        [
                            "Let us know how it works for you.",
                            "Reply here if anything looks off.",
                            "Happy shipping!",
                        ],
                    ],
                )
                notify_in = {
                    "reporter": item["reporter"],
                    "title": item["title"],
                    "release": release,
                }
                if month == 3:
                    log.step(
                        "notify_reporter",
                        "llm",
                        notify_in,
                        message,
                        **haiku,
                        prompt_tokens=500,
                        fail_rate=0.04,
                        retries=2,
                        cache_read=400,
                    )
                else:
                    log.step(
                        "notify_reporter",
                        "llm",
                        notify_in,
                        message,
                        **sonnet,
                        prompt_tokens=500,
                        fail_rate=0.03,
                        parent=agent,
                    )
        notes = (
            "## "
            + release
            + "\n\n"
            + "\n".join(
                "- "
                + prose(
                    rng,
                    [
                        [c["_subject"].capitalize()],
                        ["(thanks to the reporter)", "", "— requested by customers"],
                    ],
                )
                for c in commits
            )
        )
        notes_in = {"release": release, "commits": [c["message"] for c in commits]}
        if month == 3:
            log.step(
                "draft_release_notes",
                "llm",
                notes_in,
                notes,
                **sonnet,
                prompt_tokens=1200,
                fail_rate=0.05,
                retries=2,
                cache_read=1000,
            )
        else:
            log.step(
                "draft_release_notes",
                "llm",
                notes_in,
                notes,
                **sonnet,
                prompt_tokens=1200,
                fail_rate=0.04,
                parent=agent,
            )
    return log.records


# ---------------------------------------------------------------- support triage

INTENTS = {
    "refund": ["I want my money back", "Please refund", "Requesting a refund", "charged but"],
    "shipping": ["Where is my parcel", "Package hasn't arrived", "Tracking shows no movement"],
    "account": ["Can't log in", "Reset my password", "Locked out of my account"],
    "billing": ["Invoice looks wrong", "Double charged", "Update my billing address"],
    "other": ["Question about your product", "Feedback", "Partnership inquiry"],
}
QUEUES = {"refund": "payments-team", "shipping": "logistics", "account": "identity",
          "billing": "payments-team", "other": "general"}  # fmt: skip
COMMON_SUBJECTS = ["Where is my order?", "Refund please", "Password reset not working",
                   "Wrong item received", "Cancel my subscription"]  # fmt: skip
TRANSLATIONS = {"Where is my order?": "¿Dónde está mi pedido?", "Refund please": "Reembolso, por favor",
                "Password reset not working": "El restablecimiento de contraseña no funciona",
                "Wrong item received": "Recibí un artículo equivocado",
                "Cancel my subscription": "Cancelar mi suscripción"}  # fmt: skip


def support_triage(rng: random.Random) -> list[dict[str, Any]]:
    log = Log(rng, "support-triage")
    base = datetime(2026, 10, 1, 7, tzinfo=timezone.utc)
    gpt = {"model": "gpt-4o", "provider": "openai"}
    mini = {"model": "gpt-4o-mini", "provider": "openai"}
    opus = {"model": "claude-opus-4-1", "provider": "anthropic"}
    for n in range(420):
        log.start_run(f"T-{10000 + n}", base + timedelta(minutes=n * 97 + rng.randint(0, 60)))
        name = f"{pick(rng, FIRST)} {pick(rng, LAST)}"
        truth = rng.choice(list(INTENTS))
        has_order = rng.random() < 0.8
        order_id = f"{rng.choice('ABC')}-{rng.randint(10000, 99999)}" if has_order else None
        phrase = pick(rng, INTENTS[truth])
        body_bits = [
            f"{phrase}.",
        ]
        if order_id:
            body_bits.append(
                pick(
                    rng,
                    [
                        f"My order {order_id} was placed last week.",
                        f"Order number: {order_id}.",
                        f"(ref {order_id})",
                    ],
                )
            )
        body_bits.append(
            pick(
                rng,
                [
                    "Call me at +1-555-0134.",
                    "Thanks in advance.",
                    f"I paid €{rng.randint(5, 900)}.00 on 12/10.",
                    "This is urgent!",
                ],
            )
        )
        rng.shuffle(body_bits)
        subject = (
            pick(rng, COMMON_SUBJECTS)
            if rng.random() < 0.45
            else f"{phrase} ({rng.randint(1, 99)})"
        )
        body = " ".join(body_bits)
        ticket = {"subject": subject, "body": body}
        log.step(
            "extract_order_id", "llm", ticket, order_id, **gpt, prompt_tokens=350, fail_rate=0.01
        )
        tier = rng.choice(["free", "free", "pro", "pro", "enterprise"])
        total = round(rng.uniform(5, 600), 2)
        log.step(
            "lookup_customer",
            "tool",
            {"email": name.split()[0].lower() + "@example.com"},
            {"name": name, "tier": tier, "lifetime_value": total * rng.randint(1, 8)},
        )
        intent = truth if rng.random() < 0.82 else rng.choice(list(INTENTS))
        log.step(
            "classify_intent", "llm", ticket, intent, **opus, prompt_tokens=420, fail_rate=0.01
        )
        log.step(
            "translate_subject",
            "llm",
            {"text": subject, "target": "es"},
            TRANSLATIONS.get(
                subject, f"Traducción: {subject.lower()}" + pick(rng, ["", " (automática)", "."])
            ),
            **mini,
            prompt_tokens=120,
        )
        priority = "P1" if tier == "enterprise" else ("P2" if total >= 200 else "P3")
        log.step(
            "set_priority",
            "llm",
            {"tier": tier, "intent": intent, "order_total": total},
            priority,
            **gpt,
            prompt_tokens=300,
        )
        log.step(
            "route_ticket",
            "llm",
            {"intent": intent, "channel": rng.choice(["email", "chat"])},
            QUEUES[intent],
            **gpt,
            prompt_tokens=280,
        )
        first = name.split()[0]
        ack = (
            f"Hi {first}, thanks for reaching out. Your ticket T-{10000 + n} is open and "
            f"our {QUEUES[intent]} team will reply within 24 hours."
        )
        log.step(
            "acknowledge",
            "llm",
            {"customer_name": name, "ticket_id": f"T-{10000 + n}", "queue": QUEUES[intent]},
            ack,
            **gpt,
            prompt_tokens=260,
        )
        reply = prose(
            rng,
            [
                [f"Dear {first},", f"Hi {first},", f"Hello {first},"],
                [
                    "I'm sorry for the trouble.",
                    "Thanks for your patience.",
                    "I understand how frustrating this is.",
                ],
                {
                    "refund": [
                        "I've started the refund; it will reach your card in 5–7 days.",
                        "Your refund is approved and on its way.",
                    ],
                    "shipping": [
                        "Your parcel is with the carrier and should arrive in two days.",
                        "I've asked the warehouse to trace your package.",
                    ],
                    "account": [
                        "I've sent a fresh reset link to your email.",
                        "Your account is unlocked; please try signing in again.",
                    ],
                    "billing": [
                        "I've corrected the invoice and sent a new copy.",
                        "The duplicate charge has been reversed.",
                    ],
                    "other": [
                        "I've passed your note to the right team.",
                        "Here is a link to our guide.",
                    ],
                }[intent],
                ["Best regards, Support", "Kind regards, the Acme team", "Cheers, Acme Support"],
            ],
        )
        log.step(
            "draft_reply",
            "llm",
            {"ticket": ticket, "intent": intent, "customer": name},
            reply,
            **gpt,
            prompt_tokens=900,
            fail_rate=0.09,
            soft_fail=0.05,
        )
        log.step("send_reply", "code", {"ticket_id": f"T-{10000 + n}"}, {"sent": True})
    return log.records


# ---------------------------------------------------------------- invoice intake

VENDORS = {"Acme GmbH": "CC-4100", "Globex Ltd": "CC-4200", "Initech SA": "CC-4100",
           "Umbrella BV": "CC-5300", "Stark Supplies": "CC-6100", "Wayne Logistics": "CC-6200",
           "Hooli Cloud": "CC-7000", "Soylent Foods": "CC-5300", "Tyrell Parts": "CC-6100",
           "Cyberdyne IT": "CC-7000", "Wonka Catering": "CC-5300", "Oscorp Labs": "CC-4200"}  # fmt: skip
CATEGORIES = ["software", "travel", "office", "hardware", "services"]


def invoice_intake(rng: random.Random) -> list[dict[str, Any]]:
    log = Log(rng, "invoice-intake")
    base = datetime(2026, 10, 1, 9, tzinfo=timezone.utc)
    mini = {"model": "gpt-4o-mini", "provider": "openai"}
    haiku = {"model": "claude-haiku-4-5", "provider": "anthropic"}
    for n in range(300):
        log.start_run(f"inv-{n:04d}", base + timedelta(hours=n * 2.3 + rng.random()))
        vendor = rng.choice(list(VENDORS))
        number = f"INV-2026-{rng.randint(1, 9999):05d}"
        day, month = rng.randint(1, 28), rng.randint(1, 12)
        date = f"{day:02d}/{month:02d}/2026"
        net = round(rng.uniform(20, 15000), 2)
        vat_rate = rng.choice([0.19, 0.2, 0.07, 0.21])
        text = (
            f"{vendor}\nInvoice {number}\nDate: {date}\nNet amount: {net:.2f} EUR\n"
            f"VAT {int(vat_rate * 100)}%\nPayment within {rng.choice([14, 30, 60])} days"
        )
        log.step("ocr_invoice", "tool", {"file": f"inbox/{number}.pdf"}, {"text": text})
        log.step("extract_invoice_number", "llm", {"text": text}, number, **mini, prompt_tokens=300)
        iso = f"2026-{month:02d}-{day:02d}"
        log.step("normalize_date", "llm", {"date": date}, iso, **mini, prompt_tokens=150)
        vat = round(net * vat_rate, 2)
        gross = round(net + vat, 2)
        log.step(
            "compute_totals",
            "llm",
            {"net": net, "vat_rate": vat_rate},
            {"vat": vat, "gross": round(net * (1 + vat_rate), 2)},
            **haiku,
            prompt_tokens=250,
        )
        log.step(
            "vendor_cost_center",
            "llm",
            {"vendor": vendor},
            VENDORS[vendor],
            **mini,
            prompt_tokens=400,
        )
        lines = [
            {
                "sku": f"{rng.choice(['ab', 'cd', 'ef', 'gh'])}-{rng.randint(10, 99)}",
                "qty": rng.randint(1, 9),
            }
            for _ in range(rng.randint(1, 4))
        ]
        log.step(
            "line_item_codes",
            "llm",
            {"lines": lines},
            [line["sku"].upper() for line in lines],
            **mini,
            prompt_tokens=200,
        )
        record = {
            "invoice": {
                "number": number,
                "vendor": {"name": vendor, "vat_id": f"DE{rng.randint(10**8, 10**9 - 1)}"},
                "net": net,
                "currency": "EUR",
            },
            "meta": {"received": iso, "mailbox": "ap@example.com"},
        }
        log.step(
            "to_ledger_entry",
            "llm",
            record,
            {
                "doc_no": number,
                "supplier": vendor,
                "supplier_vat": record["invoice"]["vendor"]["vat_id"],
                "amount": net,
                "currency": "EUR",
            },
            **haiku,
            prompt_tokens=500,
            fail_rate=0.01,
        )
        route = "cfo" if gross >= 10000 else ("manager" if gross >= 1000 else "auto")
        log.step(
            "approval_route",
            "llm",
            {"gross": gross, "vendor": vendor},
            route,
            **mini,
            prompt_tokens=200,
        )
        usual = CATEGORIES[list(VENDORS).index(vendor) % len(CATEGORIES)]
        category = rng.choice(CATEGORIES) if rng.random() < 0.3 else usual
        log.step(
            "categorize_expense",
            "llm",
            {"vendor": vendor, "text": text},
            category,
            **haiku,
            prompt_tokens=350,
            fail_rate=0.02,
        )
        summary = prose(
            rng,
            [
                [
                    f"{vendor} invoice {number} for {gross:.2f} EUR.",
                    f"Invoice {number} from {vendor}, {gross:.2f} EUR gross.",
                ],
                [
                    "Due in 30 days.",
                    "Standard terms.",
                    "No anomalies found.",
                    "Amount is in line with past invoices.",
                ],
                [f"Routed to {route}.", "Ready for approval.", ""],
            ],
        )
        log.step(
            "summarize_invoice",
            "llm",
            {"text": text, "route": route},
            summary,
            **haiku,
            prompt_tokens=500,
            fail_rate=0.03,
        )
        log.step("post_to_erp", "code", {"doc_no": number}, {"posted": True})
    return log.records


# ---------------------------------------------------------------- order desk (chat form)

DESK_REGIONS = {"DE": "EMEA", "FR": "EMEA", "PL": "EMEA", "GB": "EMEA", "NL": "EMEA",
                "US": "AMER", "CA": "AMER", "BR": "AMER", "MX": "AMER",
                "JP": "APAC", "AU": "APAC", "SG": "APAC", "IN": "APAC"}  # fmt: skip
DESK_SKUS = ["X123", "B-220", "KT-9", "M-4410", "Z77", "PX-300", "C-18", "RW-5"]
DESK_TIERS = ["bronze", "silver", "gold"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip


def chat(system: str, user: str) -> list[dict[str, str]]:
    """OpenAI chat messages, as the SDK's tracer logs the request."""
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def claude_request(system: str, user: str) -> dict[str, Any]:
    """An Anthropic Messages request, as its tracer logs it (content as parts)."""
    return {"model": "claude-sonnet-4-5", "max_tokens": 1024, "system": system,
            "messages": [{"role": "user", "content": [{"type": "text", "text": user}]}]}  # fmt: skip


def claude_reply(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "text", "text": text}]}


def fenced(value: Any) -> str:
    return "```json\n" + json.dumps(value, indent=2, ensure_ascii=False) + "\n```"


def order_desk(rng: random.Random) -> list[dict[str, Any]]:
    log = Log(rng, "order-desk")
    base = datetime(2026, 9, 1, 8, tzinfo=timezone.utc)
    mini = {"model": "gpt-4o-mini", "provider": "openai"}
    sonnet = {"model": "claude-sonnet-4-5", "provider": "anthropic"}
    runs = 360
    for n in range(runs):
        log.start_run(f"PO-RUN-{n:04d}", base + timedelta(minutes=n * 113 + rng.randint(0, 50)))
        name = f"{pick(rng, FIRST)} {pick(rng, LAST)}"
        has_po = rng.random() < 0.75
        po = f"PO-{rng.randint(10000, 99999)}"
        sentence = pick(rng, [f"Please process purchase order {po} today.",
                              f"Attached is our order ({po}).", f"Ref: {po}, as agreed."])  # fmt: skip
        body = " ".join([
            pick(rng, ["Hello,", "Hi team,", "Good morning,"]),
            sentence if has_po else pick(rng, ["We would like to reorder.",
                                               "Same as last month, please."]),
            pick(rng, ["Thanks.", "Best regards.", "Call me if anything is unclear."]),
            name,
        ])  # fmt: skip
        log.step(
            "extract_po_number", "llm",
            chat("You read purchase-order emails for the order desk.",
                 f"Email from: {name}\nEmail body:\n{body}\n\n"
                 "Reply with the purchase order number only, or NONE if the email has none."),
            po if has_po else "NONE", **mini, prompt_tokens=180,
        )  # fmt: skip
        country = rng.choice(list(DESK_REGIONS))
        # The routing prompt was rewritten half way through: two versions in the log.
        if n < runs // 2:
            routing = chat("You route orders to regional desks.",
                           f"Country: {country}\n\nWhich regional desk handles this order? "
                           "Answer EMEA, APAC or AMER.")  # fmt: skip
        else:
            routing = chat("Route each order to its regional desk. Reply with one word.",
                           f"Shipping country (ISO code): {country}")  # fmt: skip
        log.step("route_region", "llm", routing, DESK_REGIONS[country], **mini, prompt_tokens=90)
        lines = [(rng.randint(1, 12), rng.choice(DESK_SKUS)) for _ in range(rng.randint(1, 4))]
        packing = "\n".join(f"- {qty} x {sku}" for qty, sku in lines)
        log.step(
            "parse_packing_list", "llm",
            claude_request("Convert packing lists to JSON arrays of {sku, qty} objects.",
                           f"Packing list:\n{packing}\n\nAnswer with a JSON block."),
            claude_reply(fenced([{"sku": sku, "qty": qty} for qty, sku in lines])),
            **sonnet, prompt_tokens=240,
        )  # fmt: skip
        qty, price = rng.randint(1, 400), round(rng.uniform(2, 90), 2)
        log.step(
            "line_total", "llm",
            chat("You are a careful order clerk. Answer with the number only.",
                 f"Quantity: {qty}\nUnit price: {price:.2f} EUR\n\nWhat is the line total in EUR?"),
            f"{round(qty * price, 2):,.2f}", **mini, prompt_tokens=120,
        )  # fmt: skip
        tier = rng.choice(DESK_TIERS)
        total = round(rng.uniform(50, 9000), 2)
        priority = tier == "gold" or total >= 5000
        log.step(
            "is_priority", "llm",
            chat("You decide which orders are handled first. Answer yes or no.",
                 f"Customer tier: {tier}\nOrder total: {total:,.2f} EUR\n\n"
                 "Is this a priority order?"),
            "yes" if priority else "no", **mini, prompt_tokens=110,
        )  # fmt: skip
        day = datetime(2026, 9, 1) + timedelta(days=rng.randint(0, 120))
        log.step(
            "format_delivery_date", "llm",
            chat("You format dates for delivery notes.",
                 f"Delivery date: {day:%Y-%m-%d}\n\nWrite it as DD/MM/YYYY, nothing else."),
            f"{day:%d/%m/%Y}", **mini, prompt_tokens=80,
        )  # fmt: skip
        vendor = {
            "vendor_id": f"V-{rng.randint(100, 999)}",
            "legal_name": f"{pick(rng, LAST)} {pick(rng, ['GmbH', 'Ltd', 'SA', 'BV', 'Inc'])}",
            "address": {"city": pick(rng, ["Berlin", "Lyon", "Leeds", "Osaka", "Austin"]),
                        "country": country},
            "iban": f"DE{rng.randint(10**19, 10**20 - 1)}",
        }  # fmt: skip
        log.step(
            "vendor_summary", "llm",
            chat("You normalise vendor records for the ERP.",
                 "Vendor record:\n" + json.dumps(vendor, ensure_ascii=False) + "\n\n"
                 "Return a JSON object with the vendor's id, name and country."),
            fenced({"id": vendor["vendor_id"], "name": vendor["legal_name"],
                    "country": country}), **mini, prompt_tokens=200,
        )  # fmt: skip
        first = name.split()[0]
        log.step(
            "confirmation_line", "llm",
            claude_request("You write one-line order confirmations.",
                           f"Customer: {name}\nOrder: {po if has_po else 'NONE'}\n"
                           f"Desk: {DESK_REGIONS[country]}"),
            claude_reply(f"Thanks {first}, your order is with our {DESK_REGIONS[country]} desk."),
            **sonnet, prompt_tokens=100,
        )  # fmt: skip
        # Judgment: a note read like a model reads it (free text in, a label out).
        note = pick(rng, ["Ship to a new address, urgent, pay later.",
                          "Regular reorder, same as last month.",
                          "Please split the delivery over two weeks.",
                          "Change the bank account for this payment.",
                          "Deliver to the loading dock before 9."])  # fmt: skip
        risky = "bank" in note or "new address" in note
        risk = ("high" if risky else "low") if rng.random() < 0.7 else rng.choice(
            ["low", "medium", "high"])  # fmt: skip
        log.step(
            "assess_risk", "llm",
            chat("You are a fraud analyst. Rate the risk of this order as low, medium or high.",
                 f"{note} {pick(rng, ['', 'Thanks!', 'Regards, ' + first])}".strip()),
            risk, **sonnet, prompt_tokens=300, fail_rate=0.02,
        )  # fmt: skip
        reply = prose(rng, [
            [f"Dear {first},", f"Hello {first},"],
            ["Thank you for your order.", "We have received your order."],
            ["It ships within two days.", "Our desk will confirm the delivery slot.",
             "You will get tracking details soon."],
            ["Kind regards, Order Desk", "Best, the Acme order team"],
        ])  # fmt: skip
        log.step(
            "reply_to_customer", "llm",
            claude_request("You write short, friendly replies to customers.",
                           f"Write a reply to {name} about their order."),
            claude_reply(reply), **sonnet, prompt_tokens=400, fail_rate=0.03,
        )  # fmt: skip
        log.step("post_order", "code", {"po": po if has_po else None}, {"posted": True})
    return log.records


def main(out: Path = HERE) -> None:
    rng = random.Random(SEED)
    folder = out / "release-cleanup"
    folder.mkdir(parents=True, exist_ok=True)
    for month in (1, 2, 3):
        write_jsonl(folder / f"month{month}.jsonl", release_cleanup(rng, month))
    write_jsonl(out / "support-triage.jsonl.gz", support_triage(rng))
    write_csv(out / "invoice-intake.csv", invoice_intake(rng))
    # Its own seed, so that adding it left the other files as they were.
    write_jsonl(out / "order-desk.jsonl.gz", order_desk(random.Random(SEED + 11)))


if __name__ == "__main__":
    import sys

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
