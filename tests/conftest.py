from __future__ import annotations

import os
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
