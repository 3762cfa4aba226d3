"""One status line per wheel while the matrix runs (redrawn in place on a terminal, a plain line
per change otherwise, as CI logs want), and the summary table at the end."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TextIO

STATES = ("queued", "building", "built", "testing", "ok", "failed", "not run", "not built")


@dataclass
class Row:
    """What is known of one wheel so far."""

    ident: str
    state: str = "queued"
    started: float = 0.0  # of the current step
    build_seconds: float | None = None
    test_seconds: float | None = None
    tag: str = ""
    size: int | None = None
    test: str = ""  # ok / failed / not run: reason / not tested: reason
    detail: str = ""

    def line(self, now: float | None, width: int) -> str:
        """The status line; ``now`` (a live display) adds the running step's time."""
        running = f" {now - self.started:5.1f}s" if now is not None and self.state in ("building", "testing") else ""
        done = f" (build {self.build_seconds:.1f}s)" if self.build_seconds is not None and not running else ""
        extra = f": {self.detail}" if self.detail else ""
        return f"{self.ident:<{width}}  {self.state}{running}{done}{extra}"


class Board:
    """The rows, shown on ``stream``; thread-safe."""

    def __init__(self, idents: list[str], stream: TextIO, live: bool) -> None:
        self.rows = {i: Row(i) for i in idents}
        self.stream = stream
        self.live = live
        self.start = time.monotonic()
        self.width = max((len(i) for i in idents), default=0)
        self._lock = threading.Lock()
        self._drawn = 0
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> Board:
        if self.live:
            self._draw()
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._draw()

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            self._draw()

    def update(self, ident: str, state: str, **changes: object) -> None:
        with self._lock:
            row = self.rows[ident]
            row.state = state
            if state in ("building", "testing"):
                row.started = time.monotonic()
            for key, value in changes.items():
                setattr(row, key, value)
            if not self.live:
                stamp = time.monotonic() - self.start
                self.stream.write(f"[{stamp:7.1f}s] {row.line(None, self.width)}\n")
                self.stream.flush()
        if self.live:
            self._draw()

    def _draw(self) -> None:
        with self._lock:
            now = time.monotonic()
            lines = [row.line(now, self.width) for row in self.rows.values()]
            up = f"\x1b[{self._drawn}F" if self._drawn else ""
            self.stream.write(up + "".join(f"\x1b[2K{line}\n" for line in lines))
            self.stream.flush()
            self._drawn = len(lines)


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    return f"{size / 1024:.0f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MiB"


def summary_table(rows: list[Row]) -> str:
    """identifier, platform tag, size, build time, test result: one row per wheel."""
    head = ("identifier", "tag", "size", "build", "test")
    body = [(r.ident, r.tag or "-", _size(r.size),
             f"{r.build_seconds:.1f}s" if r.build_seconds is not None else "-",
             _test_cell(r)) for r in rows]
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    return "\n".join(fmt.format(*line) for line in [head, tuple("-" * w for w in widths), *body])


def _test_cell(row: Row) -> str:
    """The result column: the build's failure, else the test's result (with its time)."""
    if row.build_seconds is None or row.state == "not built" or not row.test:
        return f"{row.state}: {row.detail}" if row.detail else row.state
    timing = f" ({row.test_seconds:.1f}s)" if row.test_seconds is not None and row.test in ("ok", "failed") else ""
    return row.test + timing + (f": {row.detail}" if row.detail else "")
