"""Pool workers end with their parent, even when the parent is killed by SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import multiprocessing as mp
    import os
    import sys
    import time
    from concurrent.futures import ProcessPoolExecutor

    from alphapulse.core.workers import exit_with_parent

    if __name__ == "__main__":
        init = exit_with_parent if sys.argv[2] == "watch" else None
        pool = ProcessPoolExecutor(1, mp_context=mp.get_context(sys.argv[1]), initializer=init)
        print(pool.submit(os.getpid).result(), flush=True)
        time.sleep(120)
    """
)


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def _worker_after_parent_killed(
    tmp_path: Path, method: str, mode: str, wait: float
) -> tuple[int, bool]:
    script = tmp_path / "pool.py"
    script.write_text(SCRIPT)
    parent = subprocess.Popen(
        [sys.executable, str(script), method, mode], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    assert _alive(worker)
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + wait
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return worker, _alive(worker)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_worker_exits_when_its_parent_is_killed(tmp_path: Path, method: str) -> None:
    _, alive = _worker_after_parent_killed(tmp_path, method, "watch", 10.0)
    assert not alive


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_without_the_watch_a_worker_outlives_its_parent(tmp_path: Path) -> None:
    # the control: what the watch prevents (the orphan is then killed here)
    worker, alive = _worker_after_parent_killed(tmp_path, "spawn", "none", 2.0)
    try:
        assert alive
    finally:
        if _alive(worker):
            os.kill(worker, signal.SIGKILL)
