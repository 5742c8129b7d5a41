"""A workspace's policy file, ``<workspace>/dos.toml``: read, parsed and, for the
hook, replaced by the defaults when it is malformed (the hook never breaks the agent)."""

from __future__ import annotations

import os

from ._errors import PolicyError
from ._policy import DEFAULT_POLICY, POLICY_FILENAME, Policy, parse_policy


def policy_path(workspace: str) -> str:
    return os.path.join(workspace, POLICY_FILENAME)


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


def policy_or_default(workspace: str) -> Policy:
    try:
        return load_policy(policy_path(workspace))
    except PolicyError:
        return DEFAULT_POLICY
