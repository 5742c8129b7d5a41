"""What a call does, read from its tool and input: its tool family (file edits, shell
commands, searches: the same failure from two tools of one family is one failure), its
arguments in a canonical form (``python /proj/x.py`` run in ``/proj`` is ``python
x.py``), and whether it may change files. One table for every host and agent."""

from __future__ import annotations

import re
from collections.abc import Mapping

EDIT, SHELL, SEARCH = "edit", "shell", "search"

FAMILIES: dict[str, str] = {
    # Claude Code, Qwen Code
    "edit": EDIT, "multiedit": EDIT, "write": EDIT, "notebookedit": EDIT,
    "bash": SHELL, "grep": SEARCH, "glob": SEARCH,
    # Codex CLI
    "apply_patch": EDIT, "shell": SHELL, "exec_command": SHELL, "local_shell": SHELL,
    "shell_command": SHELL,
    # Gemini CLI
    "write_file": EDIT, "replace": EDIT, "run_shell_command": SHELL,
    "search_file_content": SEARCH, "grep_search": SEARCH,
    # Cursor, Copilot CLI, Droid
    "edit_file": EDIT, "search_replace": EDIT, "create": EDIT, "str_replace": EDIT,
    "execute": SHELL, "codebase_search": SEARCH, "file_search": SEARCH,
    # SWE-agent, OpenHands, AutoCodeRover
    "str_replace_editor": EDIT, "str_replace_based_edit_tool": EDIT, "insert": EDIT,
    "execute_bash": SHELL, "cmd_run": SHELL,
    "search_dir": SEARCH, "search_file": SEARCH, "find_file": SEARCH,
    "search_code": SEARCH, "search_code_in_file": SEARCH, "search_method": SEARCH,
    "search_method_in_file": SEARCH, "search_method_in_class": SEARCH,
    "search_class": SEARCH, "search_class_in_file": SEARCH,
}  # fmt: skip
"""Casefolded tool names by family; a tool not listed is a family of its own."""

_VIEW_COMMANDS = frozenset({"view"})
_COMMAND_KEYS = ("command", "cmd")

# A shell command that may change files: output redirected into a file, an in-place
# edit, a file operation, a package install, a git command that writes.
_WRITES = re.compile(
    r"""(?:^|[\s;&|(])(?:
        (?:sed|perl)\s+(?:-\w+\s+)*-i
      | tee | mv | cp | rm | rmdir | mkdir | touch | ln | chmod | truncate | patch
      | git\s+(?:apply|commit|checkout|reset|restore|stash|add|rm|mv|merge|rebase
                |cherry-pick|am|switch|clean)
      | (?:pip|pip3|npm|pnpm|yarn|uv|poetry|cargo|go)\s+(?:install|add|remove|uninstall|get|sync)
    )(?:\s|$)
    | (?<![0-9&])>{1,2}\s*(?!&|/dev/null)[^\s|&;]
    """,
    re.VERBOSE,
)


def family(tool: str) -> str:
    """The family of a casefolded tool name: ``edit``, ``shell``, ``search``, or the
    tool itself."""
    return FAMILIES.get(tool, tool)


def first_text(tool_input: object, keys: tuple[str, ...]) -> str | None:
    """The first of ``keys`` in the input that holds text (a list of words joined)."""
    if isinstance(tool_input, Mapping):
        for key in keys:
            value = tool_input.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return " ".join(value)
    return None


def command_of(tool_input: object) -> str | None:
    """A shell call's command line, where its input names one."""
    found = first_text(tool_input, _COMMAND_KEYS)
    if found is not None:
        return found
    return tool_input if isinstance(tool_input, str) else None


def writes(tool: str, tool_input: object) -> bool:
    """Whether the call may change files: an edit (not a view), or a shell command that
    writes (as far as its text shows; a script's own writes are not seen)."""
    kind = family(tool)
    if kind == EDIT:
        command = tool_input.get("command") if isinstance(tool_input, Mapping) else None
        return command not in _VIEW_COMMANDS
    if kind == SEARCH:
        return False
    command = command_of(tool_input)  # a shell call, or an agent's own command word
    return command is not None and _WRITES.search(command) is not None


_SPACE = re.compile(r"\s+")
_QUOTED = re.compile(r"""(['"])([\w./:=@+,-]*)\1""")


def canonical_command(command: str, cwd: str | None) -> str:
    """A command line with what does not change what it does taken out: runs of
    spaces, quotes around a plain word, a leading ``cd <cwd> &&``, the ``<cwd>/``
    before a path and ``./`` before a relative one. When unsure, the spelling stays."""
    text = _SPACE.sub(" ", command.strip())
    text = _QUOTED.sub(r"\2", text)
    if cwd:
        root = cwd.rstrip("/")
        for prefix in (f"cd {root} && ", f"cd {root}/ && ", f"cd {root}; "):
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        text = re.sub(rf"(?<![\w/]){re.escape(root)}/(?=[\w.])", "", text)
    return re.sub(r"(?<![\w/.])\./(?=[\w])", "", text)


def canonical_input(tool: str, tool_input: object, cwd: str | None) -> object:
    """The input with its command line (shell calls) or its path (other calls) in
    canonical form; the input itself when nothing changes."""
    if not isinstance(tool_input, Mapping):
        return tool_input
    changed = dict(tool_input)
    if family(tool) != EDIT:
        for key in _COMMAND_KEYS:
            value = changed.get(key)
            if isinstance(value, str):
                changed[key] = canonical_command(value, cwd)
    if cwd:
        root = cwd.rstrip("/") + "/"
        for key in ("file_path", "path", "absolute_path", "notebook_path"):
            value = changed.get(key)
            if isinstance(value, str) and value.startswith(root) and len(value) > len(root):
                changed[key] = value[len(root) :]
    return changed if changed != tool_input else tool_input
