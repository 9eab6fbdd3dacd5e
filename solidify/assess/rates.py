"""Prices per token, apart from the pricing itself so that reading solidify.yaml needs
neither pandas nor genai-prices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solidify.errors import ConfigError


@dataclass(frozen=True)
class Rates:
    """USD per token for one model at one moment and price tier."""

    input: float
    cache_read: float
    cache_write: float
    output: float

    @classmethod
    def per_million(cls, values: dict[str, Any], model: str) -> Rates:
        try:
            inp = float(values["input_mtok"])
            out = float(values["output_mtok"])
            cr = float(values.get("cache_read_mtok", inp))
            cw = float(values.get("cache_write_mtok", inp))
        except (KeyError, TypeError, ValueError):
            raise ConfigError(
                f"prices.{model}: give input_mtok and output_mtok as numbers "
                "(cache_read_mtok and cache_write_mtok are optional)"
            ) from None
        if min(inp, out, cr, cw) < 0:
            raise ConfigError(f"prices.{model}: prices must not be negative")
        return cls(inp / 1e6, cr / 1e6, cw / 1e6, out / 1e6)
