"""A workspace's policy file, ``<workspace>/dos.toml``: read, parsed and, for the
hook, replaced by the defaults when it is malformed (the hook never breaks the agent).

The file is the repository's, so it is read as untrusted: without blocking (a FIFO),
without following a link out of the workspace (to ``/dev/zero``, say), only as a
regular file of at most ``POLICY_LIMIT`` bytes, and a parse that recurses too deep is
an error like any other."""

from __future__ import annotations

import os

from ._errors import PolicyError
from ._files import UnreadableFile, read_regular
from ._policy import DEFAULT_POLICY, POLICY_FILENAME, Policy, parse_policy

POLICY_LIMIT = 64 * 1024
"""Bytes a ``dos.toml`` may hold: a policy is a few lines."""


ROOT_MARKERS = (".dos", "dos.toml", ".git")
"""What makes a folder a project root: streamd's (and dos-kernel's) own folder, a
policy, a repository."""


def project_root(cwd: str) -> str:
    """The nearest ancestor of the absolute ``cwd`` (itself included) holding one of
    ``ROOT_MARKERS``, else ``cwd``: an agent that moves into a subfolder keeps one log.
    Looked up by ``lstat``, so no link is followed."""
    folder = cwd
    while True:
        for marker in ROOT_MARKERS:
            try:
                os.lstat(os.path.join(folder, marker))
            except OSError:
                continue
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return cwd
        folder = parent


def policy_path(workspace: str) -> str:
    return os.path.join(workspace, POLICY_FILENAME)


def _read(path: str) -> bytes | None:
    if os.path.islink(path):
        workspace = os.path.realpath(os.path.dirname(os.path.abspath(path)))
        real = os.path.realpath(path)
        if os.path.commonpath([workspace, real]) != workspace:
            raise PolicyError(f"{path}: a link out of the workspace (to {real}); not read")
    try:
        return read_regular(path, POLICY_LIMIT)
    except UnreadableFile as exc:
        raise PolicyError(str(exc)) from None


def load_policy(path: str) -> Policy:
    """The policy in the ``dos.toml`` at ``path``; the defaults when there is none."""
    raw = _read(path)
    if raw is None:
        return DEFAULT_POLICY
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        return parse_policy(text, source=path)
    except RecursionError:
        raise PolicyError(f"{path}: nested too deeply to be a policy") from None


def policy_or_default(workspace: str) -> Policy:
    try:
        return load_policy(policy_path(workspace))
    except PolicyError:
        return DEFAULT_POLICY
