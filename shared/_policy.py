"""The policy: run lengths that make a stream REPEATING or STALLED, and exempt tools.

Read from ``<workspace>/dos.toml``, table ``[tool_stream]``, the same table dos-kernel
reads. No file or no table means the defaults; a malformed one is a ``PolicyError``
that names the file and the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

POLICY_FILENAME = "dos.toml"
POLICY_TABLE = "tool_stream"


class PolicyError(ValueError):
    """Raised when a ``[tool_stream]`` policy is malformed or inconsistent."""


@dataclass(frozen=True, slots=True)
class Policy:
    repeat_n: int = 3
    stall_n: int = 5
    ignore_tools: frozenset[str] = frozenset()
    ignored: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("repeat_n", "stall_n"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise PolicyError(f"{name} must be an integer, not {value!r}")
        if self.repeat_n < 1:
            raise PolicyError(f"repeat_n must be >= 1, not {self.repeat_n}")
        if self.stall_n < self.repeat_n:
            raise PolicyError(f"stall_n ({self.stall_n}) must be >= repeat_n ({self.repeat_n})")
        object.__setattr__(self, "ignored", frozenset(t.casefold() for t in self.ignore_tools))


DEFAULT_POLICY = Policy()


def policy_from_table(table: Mapping[str, object], *, source: str = POLICY_FILENAME) -> Policy:
    """Build a policy from a parsed ``[tool_stream]`` table; missing keys take defaults."""
    known = {"repeat_n", "stall_n", "ignore_tools"}
    for key in table:
        if key not in known:
            raise PolicyError(
                f"{source}: [{POLICY_TABLE}] has unknown key {key!r} "
                f"(known keys: {', '.join(sorted(known))})"
            )
    values: dict[str, object] = {}
    for key in ("repeat_n", "stall_n"):
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int):
                raise PolicyError(
                    f"{source}: [{POLICY_TABLE}] {key} must be an integer, not {value!r}"
                )
            values[key] = value
    if "ignore_tools" in table:
        values["ignore_tools"] = _ignore_tools(table["ignore_tools"], source)
    try:
        return Policy(**values)  # type: ignore[arg-type]
    except PolicyError as exc:
        raise PolicyError(f"{source}: [{POLICY_TABLE}] {exc}") from None


def _ignore_tools(value: object, source: str) -> frozenset[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise PolicyError(
            f"{source}: [{POLICY_TABLE}] ignore_tools must be a string or a list of "
            f"strings, not {value!r}"
        )
    return frozenset(names)


def policy_path(workspace: str) -> str:
    return os.path.join(workspace, POLICY_FILENAME)


def parse_policy(text: str, *, source: str) -> Policy:
    """Parse the text of a ``dos.toml`` into its tool-stream policy."""
    import tomllib  # only when a dos.toml exists: the hook's fallback pays for imports

    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML ({exc})") from None
    table = data.get(POLICY_TABLE)
    if table is None:
        return DEFAULT_POLICY
    if not isinstance(table, dict):
        raise PolicyError(f"{source}: {POLICY_TABLE!r} must be a table, not {table!r}")
    return policy_from_table(table, source=source)


def load_policy(path: str) -> Policy:
    """The policy in the ``dos.toml`` at ``path``; the defaults when there is none."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return DEFAULT_POLICY
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return parse_policy(text, source=path)
