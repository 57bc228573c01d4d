"""Fixtures that run a real `weir broker` process on 127.0.0.1 for the compat tests.

`broker` starts one broker with default settings; `start_broker(**options)` starts more, with
extra `--override`s or a `--config` file. Every broker a test started is killed when the test
ends, pass or fail, and its stderr log is printed (pytest shows it for failing tests).
"""

import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import ck
from common import wait_until

REPO = Path(__file__).resolve().parents[2]
WEIR_BIN = Path(os.environ.get("WEIR_BIN", REPO / "target" / "release" / "weir"))
START_TIMEOUT_S = 20
STOP_TIMEOUT_S = 15


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Broker:
    """One `weir broker` process bound to a fixed port and data dir (kept across restarts)."""

    def __init__(self, datadir, port, overrides=None, config_file=None):
        self.datadir = Path(datadir)
        self.port = port
        self.overrides = dict(overrides or {})
        self.config_file = config_file
        self.proc = None
        self.log_path = self.datadir.parent / f"broker-{port}.log"
        self.starts = 0

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self):
        return self.proc.pid

    def command(self):
        cmd = [str(WEIR_BIN), "broker"]
        if self.config_file:
            cmd += ["--config", str(self.config_file)]
        else:
            cmd += ["--override", f"listeners=PLAINTEXT://{self.bootstrap}"]
            cmd += ["--override", f"log.dirs={self.datadir}"]
        for key, value in self.overrides.items():
            cmd += ["--override", f"{key}={value}"]
        return cmd

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, "broker already running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"==== start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env={**os.environ, "RUST_BACKTRACE": "1"},
            )

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"weir broker exited with {self.proc.returncode} during start-up:\n{self.log_tail()}")
            return port_answers(self.port)

        wait_until(ready, START_TIMEOUT_S, f"weir broker listening on {self.bootstrap}")
        return self

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig` and waits for exit (SIGKILL after a timeout). Returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError(f"broker did not exit within {STOP_TIMEOUT_S}s of {sig!r}")

    def kill(self):
        """SIGKILL, as in a crash."""
        return self.stop(signal.SIGKILL)

    def restart(self, sig=signal.SIGTERM):
        self.stop(sig)
        wait_until(lambda: not port_answers(self.port), 10, "old broker's port closed")
        return self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines=60):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no broker log)"

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    # Lets a test write `bootstrap, proc, datadir = broker`.
    def __iter__(self):
        return iter((self.bootstrap, self.proc, self.datadir))


@pytest.fixture
def start_broker():
    """Factory: start_broker(overrides={...}) or start_broker(config_text=..., port=..., datadir=...)."""
    if not WEIR_BIN.exists():
        pytest.fail(f"{WEIR_BIN} not found: cargo build --release -p weir-cli")
    started = []
    tmp = tempfile.TemporaryDirectory(prefix="weir-compat-")

    def start(overrides=None, config_text=None):
        port = free_port()
        datadir = Path(tmp.name) / f"data-{port}"
        config_file = None
        if config_text is not None:
            config_file = Path(tmp.name) / f"server-{port}.properties"
            config_file.write_text(config_text.format(port=port, datadir=datadir))
        broker = Broker(datadir, port, overrides, config_file)
        started.append(broker)
        return broker.start()

    try:
        yield start
    finally:
        for broker in started:
            broker.cleanup()
            print(f"---- broker {broker.bootstrap} log (tail) ----\n{broker.log_tail()}")
        ck.forget_admins()
        tmp.cleanup()


@pytest.fixture
def broker(start_broker):
    return start_broker()
