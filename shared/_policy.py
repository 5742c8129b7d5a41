"""The policy: which rules run, each rule's settings, and exempt tools.

Read from ``<workspace>/dos.toml``: ``[tool_stream]`` is dos-kernel's table (the exact
rule's counts and ``ignore_tools``), ``[streamd]`` names the rules to run and each
``[streamd.<rule>]`` holds that rule's settings (its module's settings type); dos-kernel
ignores them. No file or no table means the defaults; a malformed one is a
``PolicyError`` that names the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ._breaker import BREAKER_TABLE, Breaker, parse_breaker
from ._errors import PolicyError
from .rules import BY_NAME, RULES, Counts
from .rules._base import check_int, settings_from_table

POLICY_FILENAME = "dos.toml"
POLICY_TABLE = "tool_stream"
STREAMD_TABLE = "streamd"
MODEL_HEARS = ("advice", "all")


@dataclass(frozen=True, slots=True)
class Policy:
    """``repeat_n``/``stall_n`` are dos-kernel's exact rule; ``settings`` holds every
    other rule's, by name (a rule left out gets its defaults)."""

    repeat_n: int = 3
    stall_n: int = 5
    ignore_tools: frozenset[str] = frozenset()
    rules: tuple[str, ...] = RULES
    settings: Mapping[str, Counts] = field(default_factory=dict, hash=False)
    model: str = "advice"
    """What the model hears: ``advice`` (the precise findings) or ``all`` (the notes for
    people too)."""
    breaker: Breaker | None = None
    """The circuit breaker; None (the default) only advises."""
    ignored: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        Counts(check_int("repeat_n", self.repeat_n), check_int("stall_n", self.stall_n))
        if self.model not in MODEL_HEARS:
            raise PolicyError(f"model must be one of {', '.join(MODEL_HEARS)}, not {self.model!r}")
        unknown = [r for r in self.rules if r not in RULES]
        if unknown:
            raise PolicyError(f"unknown rule {unknown[0]!r} (rules: {', '.join(RULES)})")
        full = {
            name: self.settings.get(name) or BY_NAME[name].settings()
            for name in RULES
            if name != "exact"
        }
        object.__setattr__(self, "settings", full)
        object.__setattr__(self, "ignored", frozenset(t.casefold() for t in self.ignore_tools))

    @property
    def notes_to_model(self) -> bool:
        return self.model == "all"

    @property
    def exact_only(self) -> bool:
        """Whether this policy answers exactly as dos-kernel does."""
        return self.rules == ("exact",)


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


_CONFIGURABLE = tuple(name for name in RULES if BY_NAME[name].make is not None)


def _with_streamd(base: Policy, table: Mapping[str, object], source: str) -> Policy:
    _known_keys(table, {"rules", "model", BREAKER_TABLE, *_CONFIGURABLE}, STREAMD_TABLE, source)
    breaker = base.breaker
    if BREAKER_TABLE in table:
        breaker = parse_breaker(
            table[BREAKER_TABLE], f"{source}: [{STREAMD_TABLE}.{BREAKER_TABLE}]"
        )
    rules = base.rules
    model = table.get("model", base.model)
    if model not in MODEL_HEARS:
        raise PolicyError(
            f"{source}: [{STREAMD_TABLE}] model must be one of "
            f"{', '.join(repr(m) for m in MODEL_HEARS)}, not {model!r}"
        )
    if "rules" in table:
        given = table["rules"]
        names = [given] if isinstance(given, str) else given
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise PolicyError(
                f"{source}: [{STREAMD_TABLE}] rules must be a list of rule names, not {given!r}"
            )
        for name in names:
            if name not in RULES:
                raise PolicyError(
                    f"{source}: [{STREAMD_TABLE}] rules has unknown rule {name!r} "
                    f"(rules: {', '.join(RULES)})"
                )
        rules = tuple(r for r in RULES if r in names)
    settings = dict(base.settings)
    for name in _CONFIGURABLE:
        sub = table.get(name)
        if sub is None:
            continue
        where = f"[{STREAMD_TABLE}.{name}]"
        if not isinstance(sub, dict):
            raise PolicyError(f"{source}: {where} must be a table, not {sub!r}")
        try:
            settings[name] = settings_from_table(BY_NAME[name].settings, sub)
        except PolicyError as exc:
            raise PolicyError(f"{source}: {where} {exc}") from None
    return replace(base, rules=rules, settings=settings, model=str(model), breaker=breaker)


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
