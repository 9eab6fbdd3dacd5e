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

import numpy as np
import pandas as pd

from solidify.assess.metrics import positions_by_code
from solidify.assess.rates import Rates

PROBE = 1_000


TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


@dataclass
class Pricer:
    """Prices tokens; remembers which models it could not price."""

    overrides: dict[str, Rates] = field(default_factory=dict)
    unknown_models: set[str] = field(default_factory=set)

    def price(self, table: pd.DataFrame) -> pd.Series:
        """Cost in USD of each row; NaN where it cannot be known."""
        cost = pd.Series(np.nan, index=table.index, dtype="float64")
        given = table["cost_usd"].astype("float64")
        cost[given.notna()] = given[given.notna()]
        has_model = table["model"].notna() & given.isna()
        no_model = table["model"].isna() & given.isna()
        # Code, tools and people cost nothing in model terms; an AI step without a model is unknown.
        cost[no_model & ~table["kind"].isin(["llm", "agent"])] = 0.0
        if not has_model.any():
            return cost
        # Only the columns pricing reads: selecting rows copies every column it keeps.
        needed = ["model", "provider", "started_at", "extra", *TOKEN_COLUMNS]
        rows = table[needed][has_model.to_numpy()]
        tokens = {
            name: rows[name].astype("float64").fillna(0.0).to_numpy()
            for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
        }
        no_tokens = rows["input_tokens"].isna() & rows["output_tokens"].isna()
        day = rows["started_at"].dt.floor("D")
        # Group rows by (model, provider, day, tier, batch) on integer codes: a price
        # is looked up once per group.
        model, models = pd.factorize(rows["model"])
        provider, providers = pd.factorize(rows["provider"])
        when, days = pd.factorize(day)
        floor = (
            np.array(
                [
                    _tier_floor(str(m), p if isinstance(p, str) else None, d, int(t))
                    for m, p, d, t in zip(
                        rows["model"].astype(object), rows["provider"].astype(object),
                        _days(day), tokens["input_tokens"], strict=True,
                    )
                ],
                dtype=np.int64,
            )
            if _any_tiers(rows)
            else np.zeros(len(rows), dtype=np.int64)
        )  # fmt: skip
        # Batch APIs bill about half: genai-prices knows each model's batch prices.
        batch = rows["extra"].str.contains('"processing":"batch"', regex=False)
        batch = batch.fillna(False).to_numpy(dtype=bool)
        key = model.astype(np.int64)
        for codes, size in ((provider, len(providers) + 1), (when, len(days) + 1)):
            key = key * size + (codes + 1)  # -1 (missing) becomes 0
        floors, floor = np.unique(floor, return_inverse=True)
        key = (key * len(floors) + floor) * 2 + batch
        values = np.full(len(rows), np.nan)
        for positions in positions_by_code(key).values():
            at = int(positions[0])  # the group's first row stands for it
            name = str(models[model[at]])
            vendor = str(providers[provider[at]]) if provider[at] >= 0 else None
            stamp = days[when[at]].to_pydatetime() if when[at] >= 0 else None
            rates = (
                self.overrides.get(name)
                if name in self.overrides
                else _genai_rates(name, vendor, stamp, int(floors[floor[at]]),
                                  "batch" if batch[at] else None)
            )  # fmt: skip
            if rates is None:
                self.unknown_models.add(name)
                continue
            inp = tokens["input_tokens"][positions]
            cr = tokens["cache_read_tokens"][positions]
            cw = tokens["cache_write_tokens"][positions]
            uncached = np.maximum(inp - cr - cw, 0.0)
            values[positions] = (
                uncached * rates.input
                + cr * rates.cache_read
                + cw * rates.cache_write
                + tokens["output_tokens"][positions] * rates.output
            )
        values[no_tokens.to_numpy()] = np.nan
        cost.loc[rows.index] = values
        return cost


def _days(day: pd.Series) -> list[datetime | None]:
    return [None if pd.isna(d) else d.to_pydatetime() for d in day]


def _any_tiers(rows: pd.DataFrame) -> bool:
    """Tiers only matter for very long prompts; skip the per-row work when none is long."""
    longest = rows["input_tokens"].max()
    return bool(pd.notna(longest) and longest >= 32_000)


@lru_cache(maxsize=4096)
def _tier_floor(model: str, provider: str | None, day: datetime | None, input_tokens: int) -> int:
    """The start of the price tier this request falls in (0 for the base tier)."""
    price = _model_price(model, provider, day)
    if price is None:
        return 0
    from genai_prices.types import TieredPrices

    floor = 0
    for value in vars(price).values():
        if isinstance(value, TieredPrices):
            for tier in value.tiers:
                # A tier applies above its start (genai-prices: total_input_tokens > start).
                if input_tokens > tier.start:
                    floor = max(floor, tier.start)
    return floor


@lru_cache(maxsize=4096)
def _model_price(model: str, provider: str | None, day: datetime | None):
    found = _calc(model, provider, day, input_tokens=PROBE)
    return None if found is None else found.model_price


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
