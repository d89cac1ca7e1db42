"""Fixtures of the Python tests: one real sharrd for the session, unique array names.

CTest runs these with SHARR_SHARRD (the sharrd binary of the build tree) and
PYTHONPATH=<build>/python; the daemon listens on a socket in a fresh temporary
directory, and every test sees it as $SHARR_SOCKET, as do the processes it starts.
A run with a skipped test exits 77, which CTest reports as skipped.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import sharr

# A hang guard for waits on other processes: far above any normal duration, it only
# turns a crashed worker into a failure instead of a test run that never ends.
HANG_GUARD_S = 300


# Node ids of the tests that skipped in this run (pytest_runtest_logreport).
_skipped = []


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    """A run that skipped a test and failed none exits 77, which CTest reports as
    skipped (the reasons are in the summary -rs prints), so a test that did not run
    never passes silently."""
    if exitstatus == 0 and _skipped:
        print(f"\nSKIP: {len(_skipped)} test(s) skipped (reasons below): exit 77, "
              "which CTest reports as skipped")
        session.exitstatus = 77


class Daemon:
    """A real sharrd on root/s.sock with its store in root/store, logging to a file."""

    def __init__(self, root):
        self.root = root
        self.socket = os.path.join(root, "s.sock")
        self.store = os.path.join(root, "store")
        self.log = os.path.join(root, "sharrd.log")
        self.proc = None

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def start(self):
        sharrd = os.environ.get("SHARR_SHARRD")
        if not sharrd:
            raise pytest.UsageError("set SHARR_SHARRD to the sharrd binary (CTest does)")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sharrd, "--socket", self.socket, "--store", self.store, "--config", ""],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        # Readiness: poll until a request is answered, or the daemon has exited. The
        # bound only keeps a daemon that never listens from hanging the run.
        for _ in range(1000):
            if self.proc.poll() is not None:
                pytest.fail(f"sharrd exited with {self.proc.returncode}:\n{self.log_text()}")
            if os.path.exists(self.socket):
                try:
                    sharr.stats(socket=self.socket)
                    return
                except OSError:
                    pass
            time.sleep(0.02)
        self.proc.kill()
        pytest.fail(f"sharrd did not answer on {self.socket}:\n{self.log_text()}")

    def stop(self):
        """SIGTERM it and wait; True if it was still running until then."""
        alive = self.proc.poll() is None
        if alive:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=HANG_GUARD_S)
        return alive


def _new_root():
    # mkdtemp under /tmp keeps the socket path far below sun_path's 108 bytes.
    return tempfile.mkdtemp(prefix="sharr-py-", dir="/tmp")


@pytest.fixture(scope="session")
def daemon():
    d = Daemon(_new_root())
    d.start()
    yield d
    alive = d.stop()
    text = d.log_text()
    shutil.rmtree(d.root, ignore_errors=True)
    assert alive, f"sharrd died during the tests ({d.proc.returncode}):\n{text}"
    assert d.proc.returncode == 0, f"sharrd exited with {d.proc.returncode}:\n{text}"


@pytest.fixture
def own_daemon():
    """A daemon of this test's own, for tests that stop or restart it."""
    d = Daemon(_new_root())
    d.start()
    yield d
    if d.proc.poll() is None:
        d.proc.kill()
        d.proc.wait()
    shutil.rmtree(d.root, ignore_errors=True)


@pytest.fixture(autouse=True)
def sharr_socket(daemon, monkeypatch):
    """Every test, and every process it starts, finds the session's daemon by default."""
    monkeypatch.setenv("SHARR_SOCKET", daemon.socket)
    return daemon.socket


@pytest.fixture
def new_name(request, daemon):
    """new_name(tag='a') -> an array name unique to this test; unlinked afterwards."""
    made = []
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", request.node.name)[:180]

    def make(tag="a"):
        name = f"{stem}-{tag}-{len(made)}"
        made.append(name)
        return name

    yield make
    for name in made:
        try:
            sharr.unlink(name, socket=daemon.socket)
        except FileNotFoundError:
            pass
