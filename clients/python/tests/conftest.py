"""Fixtures: a real `ngd serve` on ephemeral loopback ports.

The binary is $NGD_BINARY, or the repository's .build/debug/ngd (`swift build` makes it)."""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

ROOT = Path(__file__).resolve().parents[3]


def ngd_binary() -> str:
    path = os.environ.get("NGD_BINARY") or str(ROOT / ".build" / "debug" / "ngd")
    if not os.access(path, os.X_OK):
        pytest.exit(f"no ngd binary at {path}: run `swift build` or set NGD_BINARY", returncode=2)
    return path


class Child:
    """An `ngd` subcommand as a child process, started and read up to its "serving" log line;
    `endpoints` are that line's `ROLE=ENDPOINT` fields, `metrics` its metrics URL (or None),
    `log` everything it has written to stderr."""

    ROLES: tuple = ()

    def __init__(self, cmd: List[str]) -> None:
        self.process = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.log = ""
        line = ""
        while "serving" not in line:
            line = self.process.stderr.readline()
            if not line:
                self.process.wait()
                raise RuntimeError(f"{' '.join(cmd[1:2])} did not start: {self.log}")
            self.log += line
        self.endpoints: Dict[str, str] = {r: re.search(f" {r}=(\\S+)", line).group(1) for r in self.ROLES}
        m = re.search(r" metrics=(\S+)", line)
        #: http://HOST:PORT/metrics, or None when it serves no metrics.
        self.metrics = m.group(1) if m and m.group(1) != "off" else None
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.process.stderr:
            self.log += line

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout=30)


class Daemon(Child):
    """`ngd serve ARGS` with its endpoints (`input`, `output`, `control`) and its log."""

    ROLES = ("input", "output", "control")

    def __init__(self, args: List[str], state_dir: str) -> None:
        cmd = [ngd_binary(), "serve", "--state-dir", state_dir, "--log-level", "info"]
        for flag in ("--input", "--output", "--control"):
            if flag not in args:
                cmd += [flag, "tcp://127.0.0.1:*"]
        super().__init__(cmd + args)
        self.input, self.output, self.control = (self.endpoints[k] for k in self.ROLES)


@pytest.fixture
def daemon() -> Iterator:
    """A factory: `daemon("--layers", "4,16,2", ...)` starts one; all stop after the test and
    must exit 0."""
    started: List[Daemon] = []
    dirs: List[tempfile.TemporaryDirectory] = []

    def start(*args: str) -> Daemon:
        d = tempfile.TemporaryDirectory(prefix="ngd-client-")
        dirs.append(d)
        started.append(Daemon(list(args), d.name))
        return started[-1]

    yield start
    for d in started:
        assert d.stop() == 0, d.log
    for t in dirs:
        t.cleanup()


class Proxy(Child):
    """`ngd proxy ARGS` on ephemeral loopback ports, with its endpoints by role (`input`,
    `to-daemons`, `from-daemons`, `output`, `control`) and `metrics` when served."""

    ROLES = ("input", "to-daemons", "from-daemons", "output", "control")

    def __init__(self, args: List[str]) -> None:
        cmd = [ngd_binary(), "proxy"] + args
        for role in self.ROLES:
            cmd += [f"--{role}", "tcp://127.0.0.1:*"]
        super().__init__(cmd)


@pytest.fixture
def proxy() -> Iterator:
    """A factory: `proxy("--metrics", "127.0.0.1:*")` starts one; all stop after the test and
    must exit 0."""
    started: List[Proxy] = []

    def start(*args: str) -> Proxy:
        started.append(Proxy(list(args)))
        return started[-1]

    yield start
    for p in started:
        assert p.stop() == 0, p.log
