"""The hook launcher: a small script at a stable per-user path that hosts run, which finds
the installed streamd package. An upgrade, a reinstall or a cleaned checkout moves the
package; the host's config keeps naming the launcher, so it keeps working."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from streamd.shared import _wire

from . import _files

LAUNCHER_NAME = "hook.py"

_SOURCE = '''\
"""streamd's hook launcher, written by `streamd hook install`; `streamd doctor` checks
it. It runs the hook of the streamd package at ROOT, or of the one the `streamd`
command at COMMAND runs, when the package has moved. Without either it does nothing."""
import sys

ROOT = {root!r}
COMMAND = {command!r}


def _roots():
    yield ROOT
    try:
        with open(COMMAND, "rb") as f:
            first = f.readline(4096)
    except OSError:
        return
    if first.startswith(b"#!"):
        import glob

        prefix = first[2:].strip().decode("utf-8", "replace").rsplit("/", 2)[0]
        yield from glob.glob(prefix + "/lib/python3*/site-packages/streamd")


def _main():
    import posix

    for root in _roots():
        try:
            posix.stat(root + "/client/_shim.py")
        except OSError:
            continue
        sys.path.insert(0, root + "/client")
        from _shim import main

        main()
    posix._exit(0)


_main()
'''


def data_dir() -> Path:
    """streamd's per-user data folder: ``$XDG_DATA_HOME/streamd``, else
    ``~/.local/share/streamd`` (on macOS ``~/Library/Application Support/streamd``)."""
    return _files.user_dir("XDG_DATA_HOME", ".local/share", "Library/Application Support")


def launcher_path() -> Path:
    return data_dir() / LAUNCHER_NAME


def package_root() -> str:
    """The folder holding this streamd's ``client`` and ``shared`` packages, links
    resolved (an editable install's build folder points into the checkout)."""
    return os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def console_command() -> str:
    """The ``streamd`` command installed with this package (pipx's, uv's, a venv's)."""
    return os.path.join(os.path.dirname(sys.executable), "streamd")


def render(root: str | None = None, command: str | None = None) -> bytes:
    text = _SOURCE.format(root=root or package_root(), command=command or console_command())
    return text.encode("utf-8")


def recorded_root(path: Path | None = None) -> str | None:
    """The package root a launcher file names, or None when it is absent or not ours."""
    data = _files.read(path or launcher_path(), follow=False)
    if data is None:
        return None
    for line in data.decode("utf-8", "replace").splitlines():
        if line.startswith("ROOT = "):
            import ast

            try:
                value = ast.literal_eval(line[len("ROOT = ") :])
            except (ValueError, SyntaxError):
                return None
            return value if isinstance(value, str) else None
    return None


def write_launcher(path: Path | None = None) -> bool:
    """Write (or refresh) the launcher for this package; returns whether it changed."""
    path = path or launcher_path()
    data = render()
    if _files.read(path, follow=False) == data:
        return False
    _files.write(path, data)
    return True


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def fragile(path: str) -> str | None:
    """Why a path a hook depends on may vanish: it lies in a build or temporary folder."""
    real = os.path.realpath(path)
    temporary = {os.path.realpath(tempfile.gettempdir()), "/tmp", "/var/tmp"}
    if not _under(real, os.path.realpath(Path.home())):  # a home in /tmp is still home
        for folder in temporary:
            if _under(real, folder):
                return f"{path} is in the temporary folder {folder}"
    parts = real.split("/")
    if "build" in parts or any(p.startswith("__editable__") for p in parts):
        return f"{path} is in a build folder"
    if _wire.foreign_dir(real) is not None:
        return f"{path} is in a folder others can write"
    return None
