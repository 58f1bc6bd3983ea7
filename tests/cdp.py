"""Headless Chromium driven over the DevTools protocol through a pipe (``--remote-debugging-pipe``).

The pipe needs no websocket client: Chromium reads commands from fd 3 and
writes replies and events to fd 4, each a JSON message ended by a NUL byte.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

__all__ = ["Browser", "chromium", "launch"]

MOVE_FDS_AND_EXEC = (
    "import os,sys; os.dup2(int(sys.argv[1]),3); os.dup2(int(sys.argv[2]),4); os.execv(sys.argv[3], sys.argv[3:])"
)


def chromium() -> str | None:
    """The Chromium binary, if installed (Debian's ``chromium``)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One page session; every event is kept in ``events`` for the test to inspect."""

    def __init__(self, process: subprocess.Popen[bytes], to_browser: int, from_browser: int) -> None:
        self._process = process
        self._out = os.fdopen(to_browser, "wb", buffering=0)
        self._in = os.fdopen(from_browser, "rb", buffering=0)
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session: str | None = None

    def _read(self) -> None:
        buffer = b""
        while chunk := self._in.read(65536):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            with self._changed:
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._replies[message["id"]] = message
                    else:
                        self.events.append(message)
                self._changed.notify_all()

    def send(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        """Call ``method`` (in the page session, once attached) and return its result."""
        self._next_id += 1
        ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        self._out.write(json.dumps(message).encode() + b"\0")
        with self._changed:
            if not self._changed.wait_for(lambda: ident in self._replies, timeout):
                raise TimeoutError(f"no reply to {method} in {timeout} s")
            reply = self._replies.pop(ident)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def wait_for_event(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        with self._changed:
            found = self._changed.wait_for(
                lambda: next((event for event in self.events if event["method"] == method), None), timeout
            )
        if found is None:
            raise TimeoutError(f"no {method} event in {timeout} s")
        return found

    def open_page(self) -> None:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (returned by value, so JSON-like)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        with suppress(TimeoutError, RuntimeError, OSError):
            self.send("Browser.close", timeout=5)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._out.close()
        self._reader.join(timeout=5)  # ends at the pipe's end of file, now the browser is gone
        self._in.close()


def _high(fd: int) -> int:
    """``fd`` moved to a number of 10 or more (inherited only through ``pass_fds``)."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


@contextmanager
def launch(binary: str, profile: Path) -> Iterator[Browser]:
    """Headless Chromium with a fresh profile, nothing of its own on the network."""
    to_browser_read, to_browser_write = os.pipe()
    from_browser_read, from_browser_write = os.pipe()
    # Above 4, so moving one end to 3 or 4 cannot overwrite the other.
    to_browser_read, from_browser_write = _high(to_browser_read), _high(from_browser_write)
    # Chromium expects the pipe on fds 3 (its input) and 4 (its output): a tiny Python moves them there.
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            MOVE_FDS_AND_EXEC,
            str(to_browser_read),
            str(from_browser_write),
            binary,
            "--headless",
            "--remote-debugging-pipe",
            "--no-sandbox",  # CI containers run as root, where the sandbox cannot start
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,1600",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(to_browser_read, from_browser_write),
    )
    os.close(to_browser_read)
    os.close(from_browser_write)
    browser = Browser(process, to_browser_write, from_browser_read)
    try:
        yield browser
    finally:
        browser.close()
