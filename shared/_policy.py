"""The policy: which rules run, the counts that make them REPEATING or STALLED, and
exempt tools.

Read from ``<workspace>/dos.toml``: ``[tool_stream]`` is dos-kernel's table (the exact
rule and ``ignore_tools``), ``[streamd]`` and its sub-tables are streamd's own rules,
which dos-kernel ignores. No file or no table means the defaults; a malformed one is a
``PolicyError`` that names the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ._errors import StreamdError

POLICY_FILENAME = "dos.toml"
POLICY_TABLE = "tool_stream"
STREAMD_TABLE = "streamd"
RULES = ("exact", "noisy", "failure", "cycle")
MAX_PERIOD = 5


class PolicyError(StreamdError, ValueError):
    """Raised when a ``dos.toml`` policy is malformed or inconsistent."""


@dataclass(frozen=True, slots=True)
class Policy:
    """``repeat_n``/``stall_n`` are dos-kernel's exact rule; the rest are streamd's.
    ``failure_gap`` is how many other calls may come between two attempts of a failing
    tool; ``cycle_*`` count the rounds of a repeating cycle."""

    repeat_n: int = 3
    stall_n: int = 5
    ignore_tools: frozenset[str] = frozenset()
    rules: tuple[str, ...] = RULES
    noisy_repeat_n: int = 3
    noisy_stall_n: int = 5
    failure_repeat_n: int = 3
    failure_stall_n: int = 5
    failure_gap: int = 0
    cycle_repeat_n: int = 3
    cycle_stall_n: int = 5
    ignored: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for prefix in ("", "noisy_", "failure_", "cycle_"):
            repeat, stall = prefix + "repeat_n", prefix + "stall_n"
            for name in (repeat, stall):
                _check_int(name, getattr(self, name))
            if getattr(self, repeat) < 1:
                raise PolicyError(f"{repeat} must be >= 1, not {getattr(self, repeat)}")
            if getattr(self, stall) < getattr(self, repeat):
                raise PolicyError(
                    f"{stall} ({getattr(self, stall)}) must be >= {repeat} "
                    f"({getattr(self, repeat)})"
                )
        _check_int("failure_gap", self.failure_gap)
        if self.failure_gap < 0:
            raise PolicyError(f"failure_gap must be >= 0, not {self.failure_gap}")
        unknown = [r for r in self.rules if r not in RULES]
        if unknown:
            raise PolicyError(f"unknown rule {unknown[0]!r} (rules: {', '.join(RULES)})")
        object.__setattr__(self, "ignored", frozenset(t.casefold() for t in self.ignore_tools))

    @property
    def exact_only(self) -> bool:
        """Whether this policy answers exactly as dos-kernel does."""
        return self.rules == ("exact",)


def _check_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(f"{name} must be an integer, not {value!r}")


DEFAULT_POLICY = Policy()


def policy_from_table(
    table: Mapping[str, object],
    *,
    source: str = POLICY_FILENAME,
    streamd: Mapping[str, object] | None = None,
) -> Policy:
    """Build a policy from a parsed ``[tool_stream]`` table and, when given, a parsed
    ``[streamd]`` table; missing keys take defaults."""
    _known_keys(table, {"repeat_n", "stall_n", "ignore_tools"}, POLICY_TABLE, source)
    values: dict[str, object] = {}
    for key in ("repeat_n", "stall_n"):
        if key in table:
            values[key] = _int(table[key], f"[{POLICY_TABLE}] {key}", source)
    if "ignore_tools" in table:
        values["ignore_tools"] = _ignore_tools(table["ignore_tools"], source)
    try:
        base = Policy(**values)  # type: ignore[arg-type]
    except PolicyError as exc:
        raise PolicyError(f"{source}: [{POLICY_TABLE}] {exc}") from None
    if streamd is None:
        return base
    return _with_streamd(base, streamd, source)


_RULE_KEYS = {
    "noisy": {"repeat_n", "stall_n"},
    "failure": {"repeat_n", "stall_n", "gap"},
    "cycle": {"repeat_n", "stall_n"},
}


def _with_streamd(base: Policy, table: Mapping[str, object], source: str) -> Policy:
    _known_keys(table, {"rules", *_RULE_KEYS}, STREAMD_TABLE, source)
    values: dict[str, object] = {}
    if "rules" in table:
        rules = table["rules"]
        names = [rules] if isinstance(rules, str) else rules
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise PolicyError(
                f"{source}: [{STREAMD_TABLE}] rules must be a list of rule names, not {rules!r}"
            )
        for name in names:
            if name not in RULES:
                raise PolicyError(
                    f"{source}: [{STREAMD_TABLE}] rules has unknown rule {name!r} "
                    f"(rules: {', '.join(RULES)})"
                )
        values["rules"] = tuple(r for r in RULES if r in names)
    for rule, keys in _RULE_KEYS.items():
        sub = table.get(rule)
        if sub is None:
            continue
        where = f"[{STREAMD_TABLE}.{rule}]"
        if not isinstance(sub, dict):
            raise PolicyError(f"{source}: {where} must be a table, not {sub!r}")
        _known_keys(sub, keys, f"{STREAMD_TABLE}.{rule}", source)
        for key in keys:
            if key in sub:
                field_name = f"{rule}_{key}" if key != "gap" else "failure_gap"
                values[field_name] = _int(sub[key], f"{where} {key}", source)
    try:
        return replace(base, **values)  # type: ignore[arg-type]
    except PolicyError as exc:
        raise PolicyError(f"{source}: [{STREAMD_TABLE}] {exc}") from None


def _known_keys(table: Mapping[str, object], known: set[str], name: str, source: str) -> None:
    for key in table:
        if key not in known:
            raise PolicyError(
                f"{source}: [{name}] has unknown key {key!r} "
                f"(known keys: {', '.join(sorted(known))})"
            )


def _int(value: object, where: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(f"{source}: {where} must be an integer, not {value!r}")
    return value


def _ignore_tools(value: object, source: str) -> frozenset[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise PolicyError(
            f"{source}: [{POLICY_TABLE}] ignore_tools must be a string or a list of "
            f"strings, not {value!r}"
        )
    return frozenset(names)


def parse_policy(text: str, *, source: str) -> Policy:
    """Parse the text of a ``dos.toml`` into its tool-stream policy."""
    import tomllib  # only when a dos.toml exists: the hook's fallback pays for imports

    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML ({exc})") from None
    table = data.get(POLICY_TABLE, {})
    if not isinstance(table, dict):
        raise PolicyError(f"{source}: {POLICY_TABLE!r} must be a table, not {table!r}")
    streamd = data.get(STREAMD_TABLE)
    if streamd is not None and not isinstance(streamd, dict):
        raise PolicyError(f"{source}: {STREAMD_TABLE!r} must be a table, not {streamd!r}")
    if not table and streamd is None:
        return DEFAULT_POLICY
    return policy_from_table(table, source=source, streamd=streamd)
