"""gunicorn on a free loopback port, as in production, started and stopped for the run."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from load.common import HTTPS, ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, env: dict, log_dir: Path, workers: int, threads: int) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "ivf_trial.wsgi:application",
        *("--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads)),
        *("--worker-class", "gthread", "--timeout", "60", "--keep-alive", "30"),
        *("--error-logfile", str(log_dir / "gunicorn.log")),
    ]
    if not Path(command[0]).exists():
        command[0:1] = [sys.executable, "-m", "gunicorn"]
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def wait_until_up(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}; see its log")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz/", headers=HTTPS)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz/ in time")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
