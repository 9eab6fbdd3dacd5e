"""Cost per execution: the log's own cost, else tokens priced by genai-prices.

genai-prices carries every provider's price history offline. Calling it for
each of 500 000 rows would take minutes, so rows are grouped by (model,
provider, day, price tier) and each group's per-token rates are read once by
pricing unit amounts of each kind of token; prices are linear within a tier,
so the result is exact. Token semantics are the canonical ones: `input_tokens`
includes cache reads and writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any

import pyarrow as pa

from solidify.assess.rates import Rates
from solidify.assess.steptable import Engine

PROBE = 1_000


TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


@dataclass
class Pricer:
    """Prices tokens; remembers which models it could not price."""

    overrides: dict[str, Rates] = field(default_factory=dict)
    unknown_models: set[str] = field(default_factory=set)


def _calc(
    model: str,
    provider: str | None,
    day: datetime | None,
    processing: str | None = None,
    **usage: int,
):
    from genai_prices import Usage, calc_price

    when = day.replace(tzinfo=timezone.utc) if day is not None and day.tzinfo is None else day
    for provider_id in [provider, None] if provider else [None]:
        try:
            return calc_price(
                Usage(**usage),
                model_ref=model,
                provider_id=provider_id,
                genai_request_timestamp=when,
                price_context={"processing": processing} if processing else None,
            )
        except LookupError:
            continue
    return None


@lru_cache(maxsize=4096)
def _genai_rates(
    model: str,
    provider: str | None,
    day: datetime | None,
    floor: int,
    processing: str | None = None,
) -> Rates | None:
    """Per-token rates, read by pricing unit amounts of each kind of token at this tier."""
    amount = floor + 1 if floor > 0 else PROBE
    base = _calc(model, provider, day, processing, input_tokens=amount)
    if base is None:
        return None

    def per_token(result: Any, minus: Decimal = Decimal(0)) -> float:
        return float((Decimal(result.total_price) - minus) / amount)

    base_total = Decimal(base.total_price)
    read = _calc(model, provider, day, processing, input_tokens=amount, cache_read_tokens=amount)
    write = _calc(model, provider, day, processing, input_tokens=amount, cache_write_tokens=amount)
    out = _calc(model, provider, day, processing, input_tokens=amount, output_tokens=amount)
    return Rates(
        input=per_token(base),
        cache_read=per_token(read) if read is not None else per_token(base),
        cache_write=per_token(write) if write is not None else per_token(base),
        output=per_token(out, base_total) if out is not None else math.nan,
    )


def model_rates(model: str, provider: str | None = None) -> Rates | None:
    """Today's base-tier rates of a model, for comparisons (downgrade suggestions)."""
    return _genai_rates(model, provider, None, 0)


def provider_of(model: str) -> str | None:
    found = _calc(model, None, None, input_tokens=PROBE)
    return None if found is None else found.provider.id


# `steps` (or the relation `source`) with the cost of each row, for the measures, and
# its `rowid` as `rid`: the log's own cost wins; code, tools and people cost nothing in
# model terms; an AI step without a model, or an unpriced model, is unknown (NULL).
# The rates come from `register_rates`.
PRICED_FROM = """
priced AS (
    SELECT s.*, s.rowid AS rid,
           CASE
               WHEN s.cost_usd IS NOT NULL THEN s.cost_usd
               WHEN s.model IS NULL THEN CASE WHEN s.kind IN ('llm', 'agent') THEN NULL
                                              ELSE 0.0 END
               WHEN s.input_tokens IS NULL AND s.output_tokens IS NULL THEN NULL
               ELSE greatest(CAST(coalesce(s.input_tokens, 0) AS DOUBLE)
                             - coalesce(s.cache_read_tokens, 0)
                             - coalesce(s.cache_write_tokens, 0), 0.0) * r.input
                    + coalesce(s.cache_read_tokens, 0) * r.cache_read
                    + coalesce(s.cache_write_tokens, 0) * r.cache_write
                    + coalesce(s.output_tokens, 0) * r.output
           END AS cost
    FROM {source} AS s
    LEFT JOIN rates AS r
      ON s.cost_usd IS NULL
     AND s.model = r.model
     AND s.provider IS NOT DISTINCT FROM r.provider
     AND date_trunc('day', s.started_at) IS NOT DISTINCT FROM r.day
     AND coalesce(s.extra LIKE '%"processing":"batch"%', false) = r.batch
     AND (r.low IS NULL OR coalesce(s.input_tokens, 0) > r.low)
     AND (r.high IS NULL OR coalesce(s.input_tokens, 0) <= r.high)
)"""


def priced_sql(source: str = "steps") -> str:
    """The common table expression `priced` (for a WITH clause) over `source`."""
    return PRICED_FROM.replace("{source}", source)


PRICED = priced_sql()


# The distinct groups a price is looked up for, once each.
def price_groups_sql(source: str = "steps") -> str:
    """One row per (model, provider, day, batch) group of `source` that needs a price."""
    return f"""
SELECT model, provider, date_trunc('day', started_at) AS day,
       coalesce(extra LIKE '%"processing":"batch"%', false) AS batch,
       max(input_tokens) AS longest
FROM {source}
WHERE model IS NOT NULL AND cost_usd IS NULL
GROUP BY model, provider, date_trunc('day', started_at),
         coalesce(extra LIKE '%"processing":"batch"%', false)
ORDER BY model, provider, day, batch
"""


PRICE_GROUPS = price_groups_sql()

RATES_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("provider", pa.string()),
        ("day", pa.timestamp("us", tz="UTC")),
        ("batch", pa.bool_()),
        ("low", pa.int64()),  # the band of input tokens a row's tier falls in: (low, high]
        ("high", pa.int64()),
        ("input", pa.float64()),
        ("cache_read", pa.float64()),
        ("cache_write", pa.float64()),
        ("output", pa.float64()),
    ]
)


def register_rates(engine: Engine, pricer: Pricer, source: str = "steps") -> None:
    """Price each (model, provider, day, batch) group of the step table once, per price
    tier, and register the rates as the table `rates` that `PRICED` joins."""
    groups = engine.query(price_groups_sql(source)).to_pylist()
    # Tiers only matter for very long prompts; as before, they are looked at only when
    # some prompt is long.
    tiers = any(g["longest"] is not None and g["longest"] >= 32_000 for g in groups)
    rows: list[dict[str, Any]] = []
    for group in groups:
        name, vendor, day, batch = group["model"], group["provider"], group["day"], group["batch"]
        if name in pricer.overrides:
            bands = [(None, None, pricer.overrides[name])]
        else:
            starts = _tier_starts(name, vendor, day) if tiers else []
            edges = [None, *starts]
            bands = [
                (low, high, _genai_rates(name, vendor, day, low or 0,
                                         "batch" if batch else None))
                for low, high in zip(edges, [*starts, None], strict=True)
            ]  # fmt: skip
        if bands[0][2] is None:
            pricer.unknown_models.add(name)
        for low, high, rates in bands:
            if rates is None:
                continue
            rows.append({
                "model": name, "provider": vendor, "day": day, "batch": batch,
                "low": low, "high": high,
                **{part: _known(getattr(rates, part))
                   for part in ("input", "cache_read", "cache_write", "output")},
            })  # fmt: skip
    engine.register("rates", pa.Table.from_pylist(rows, schema=RATES_SCHEMA))


def _known(value: float) -> float | None:
    """A rate, or None (an unknown cost) where genai-prices has none."""
    return None if value is None or math.isnan(value) else float(value)


def _tier_starts(model: str, provider: str | None, day: datetime | None) -> list[int]:
    """Where the price tiers of a model start (above its base tier), in order."""
    price = _model_price(model, provider, day)
    if price is None:
        return []
    from genai_prices.types import TieredPrices

    return sorted({
        int(tier.start)
        for value in vars(price).values() if isinstance(value, TieredPrices)
        for tier in value.tiers if tier.start > 0
    })  # fmt: skip


@lru_cache(maxsize=4096)
def _model_price(model: str, provider: str | None, day: datetime | None):
    found = _calc(model, provider, day, input_tokens=PROBE)
    return None if found is None else found.model_price
