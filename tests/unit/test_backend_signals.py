"""manywheel's SIGTERM handling must not break what the project's own build does with processes."""
from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import multiprocessing
    from manywheel import backend

    @backend._user_errors
    def hook():
        # What setup.py files do: a fork pool, terminated by its context manager.
        with multiprocessing.get_context("fork").Pool(2) as pool:
            return sum(pool.starmap(pow, [(n, 2) for n in range(16)]))

    print(sum(hook() for _ in range(30)))
""")


def test_fork_pools_inside_a_hook_terminate() -> None:
    # Before the fork hooks, a SIGTERM from Pool.terminate() could be lost in a freshly forked
    # worker (it had inherited the Python-level handler) and the pool waited for ever.
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(30 * sum(n * n for n in range(16)))
