"""Prices the user gives ``streamd report`` (``--price``, ``--prices FILE``), per
million tokens of each kind, in whatever currency they are written in. streamd ships
none: a price list goes stale without a word. A token kind with no price stays
unpriced, and the report says how many tokens that left out."""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field

from streamd.shared import StreamdError

KINDS = ("input", "output", "cache_read", "cache_creation")
"""The token kinds the readers record, in the order ``--price`` takes them."""


class PriceError(StreamdError, ValueError):
    """Raised when a ``--price`` or a price file cannot be read as prices."""


@dataclass(frozen=True, slots=True)
class Price:
    """One model's prices per million tokens; None for a kind not priced."""

    per_million: dict[str, float]


@dataclass(slots=True)
class Prices:
    """Prices by model name or glob (``claude-sonnet-*``): an exact name wins, then the
    longest matching pattern."""

    by_model: dict[str, Price] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.by_model)

    def of(self, model: str) -> Price | None:
        if model in self.by_model:
            return self.by_model[model]
        matching = [p for p in self.by_model if fnmatch.fnmatchcase(model, p)]
        return self.by_model[max(matching, key=len)] if matching else None

    def cost(self, tokens_by_model: dict[str, dict[str, int]]) -> tuple[float, int]:
        """The cost of these tokens, and how many tokens had no price."""
        cost, unpriced = 0.0, 0
        for model, tokens in tokens_by_model.items():
            price = self.of(model)
            for kind, n in tokens.items():
                rate = price.per_million.get(kind) if price is not None else None
                if rate is None:
                    unpriced += n
                else:
                    cost += n * rate / 1_000_000
        return cost, unpriced


def parse_price(spec: str) -> tuple[str, Price]:
    """``MODEL=IN,OUT[,CACHE_READ[,CACHE_WRITE]]``, per million tokens."""
    model, sep, numbers = spec.partition("=")
    values = numbers.split(",") if sep else []
    if not model.strip() or not 2 <= len(values) <= len(KINDS):
        raise PriceError(
            f"--price {spec!r}: write MODEL=IN,OUT[,CACHE_READ[,CACHE_WRITE]], prices per "
            "million tokens, as claude-sonnet-4-5=3,15,0.3,3.75"
        )
    return model.strip(), Price(dict(zip(KINDS, (_number(v, spec) for v in values), strict=False)))


def load_prices(path: str) -> Prices:
    """A TOML price file: ``[prices."MODEL"]`` tables of ``input``, ``output``,
    ``cache_read``, ``cache_creation``, per million tokens."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise PriceError(f"{path}: cannot read it ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise PriceError(f"{path}: not TOML ({exc})") from None
    table = data.get("prices")
    if not isinstance(table, dict) or set(data) - {"prices"}:
        raise PriceError(f'{path}: write only [prices."MODEL"] tables')
    prices = Prices()
    for model, kinds in table.items():
        where = f'{path}: [prices."{model}"]'
        if not isinstance(kinds, dict) or not kinds or set(kinds) - set(KINDS):
            raise PriceError(f"{where}: give some of {', '.join(KINDS)}")
        prices.by_model[model] = Price({k: _number(v, where) for k, v in kinds.items()})
    return prices


def _number(value: object, where: str) -> float:
    try:
        number = float(value) if isinstance(value, int | float | str) else -1.0
    except ValueError:
        number = -1.0
    if isinstance(value, bool):
        number = -1.0
    if not number >= 0 or number == float("inf"):
        raise PriceError(f"{where}: {value!r} is not a price (a number, 0 or more)")
    return number
