"""The real headless Chromium, driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: JSON messages ending in NUL on fds 3 and 4), with nothing
but the standard library: open a page, click and type as a person would, read the
DOM, take a screenshot."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import signal
import time
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HEADLESS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
]
GUARD = 120.0
"""Seconds before a browser that stopped answering fails the test (a hang, not a
measure: nothing asserts how long anything took)."""


class BrowserError(AssertionError):
    """Raised when Chromium answers a command with an error, or stops answering."""


class Browser:
    """One Chromium process and one page in it."""

    def __init__(self, profile: Path, *, width: int, height: int, mobile: bool = False) -> None:
        assert CHROMIUM is not None
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        self._errors, errors_w = os.pipe()
        null = os.open(os.devnull, os.O_WRONLY)
        # The pipe's ends go on the fds Chromium reads (3) and writes (4); every other fd
        # is close-on-exec.
        self._pid = os.posix_spawn(
            CHROMIUM,
            [CHROMIUM, *HEADLESS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
             "about:blank"],
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, errors_w, 2),
                (os.POSIX_SPAWN_DUP2, to_chrome_r, 3), (os.POSIX_SPAWN_DUP2, from_chrome_w, 4),
            ],
        )  # fmt: skip
        for fd in (to_chrome_r, from_chrome_w, errors_w, null):
            os.close(fd)
        self._buffer = b""
        self._ended: str | None = None
        self._next = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width, height=height, deviceScaleFactor=1, mobile=mobile,
        )  # fmt: skip
        if mobile:
            self.call("Emulation.setTouchEmulationEnabled", enabled=True)

    def close(self) -> str:
        """Ends Chromium; its stderr."""
        os.close(self._to_chrome)
        err = self._stderr()
        os.close(self._from_chrome)
        return err

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _stderr(self) -> str:
        """Ends Chromium, once; what it wrote to stderr."""
        if self._ended is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            with os.fdopen(self._errors, "rb") as errors:
                self._ended = errors.read().decode(errors="replace")[-2000:]
        return self._ended

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if method.split(".")[0] not in ("Target", "Browser"):
            message["sessionId"] = self._session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def _receive(self) -> dict[str, Any]:
        deadline = time.monotonic() + GUARD
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_chrome], [], [], 1.0)
            if time.monotonic() > deadline:
                raise BrowserError("Chromium stopped answering")
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise BrowserError(f"Chromium closed its pipe: {self._stderr()}")
                self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        decoded: dict[str, Any] = json.loads(raw)
        return decoded

    def wait_for(self, event: str) -> dict[str, Any]:
        for seen in self.events:
            if seen.get("method") == event:
                self.events.remove(seen)
                return seen
        while True:
            message = self._receive()
            if message.get("method") == event:
                return message
            self.events.append(message)

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        found = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in found:
            raise BrowserError(f"{expression}: {found['exceptionDetails']}")
        return found["result"].get("value")

    def centre(self, selector: str) -> tuple[float, float]:
        box = self.evaluate(
            f"(function () {{ var e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); var r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        return float(box[0]), float(box[1])

    def click(self, selector: str) -> None:
        """A mouse press and release on the element's centre, as a person clicks."""
        x, y = self.centre(selector)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def tap(self, selector: str) -> None:
        """A finger's touch on the element's centre."""
        x, y = self.centre(selector)
        self.call("Input.dispatchTouchEvent", type="touchStart", touchPoints=[{"x": x, "y": y}])
        self.call("Input.dispatchTouchEvent", type="touchEnd", touchPoints=[])

    def press(self, key: str, code: str, keycode: int) -> None:
        """A key pressed on whatever has the focus."""
        text = "\r" if key == "Enter" else key if len(key) == 1 else ""
        for kind in ("keyDown", "keyUp"):
            self.call(
                "Input.dispatchKeyEvent", type=kind, key=key, code=code,
                windowsVirtualKeyCode=keycode, text=text if kind == "keyDown" else "",
            )  # fmt: skip

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def problems(self) -> list[dict[str, Any]]:
        """Exceptions thrown and errors logged by the page (a blocked script, a
        resource it tried to load)."""
        return [
            e
            for e in self.events
            if e.get("method") == "Runtime.exceptionThrown"
            or (
                e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") == "error"
            )
        ]
