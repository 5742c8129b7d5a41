from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


import pytest  # noqa: E402

from streamd.shared._wire import PROJECT_ENV  # noqa: E402

# A test suite run from inside an agent inherits the agent's project folder, which the
# hook would take for every event's workspace.
for _name in PROJECT_ENV.values():
    os.environ.pop(_name.decode(), None)
# The hook launcher and the daemon's log go to per-user folders: the tests' own.
_USER_DIRS = tempfile.mkdtemp(prefix="streamd-tests-")
atexit.register(shutil.rmtree, _USER_DIRS, True)
os.environ["XDG_DATA_HOME"] = os.path.join(_USER_DIRS, "data")
os.environ["XDG_STATE_HOME"] = os.path.join(_USER_DIRS, "state")

from .harness import DaemonProcess, short_tempdir  # noqa: E402


@pytest.fixture
def sockdir() -> Iterator[Path]:
    with short_tempdir() as path:
        yield path


@pytest.fixture
def daemon(sockdir: Path) -> Iterator[DaemonProcess]:
    proc = DaemonProcess(sockdir / "d.sock").start()
    try:
        yield proc
    finally:
        proc.kill()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _processes_only_where_marked(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unit tests start no process; a test that does carries the ``process`` marker."""
    if request.node.get_closest_marker("process") is not None:
        return

    def refuse(self: object, *args: object, **kwargs: object) -> None:
        raise AssertionError("this test starts a process: mark it `process`")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
