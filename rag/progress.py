"""Progress of a long step (`rag index`): a bar on a terminal (tqdm), plain lines otherwise (a log file, CI)."""
from __future__ import annotations

import sys
import time


class Progress:
    """`update(n)` after each file or batch; `close()` at the end. Disabled, it does nothing."""

    def __init__(self, total: int, desc: str, unit: str, enabled: bool = True, stream=None):
        self.total, self.desc, self.unit = total, desc, unit
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.done = 0
        self._bar = None
        self._last_line = 0.0
        if self.enabled and getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, file=self.stream, leave=False, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        if not self.enabled:
            return
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.done >= self.total or time.monotonic() - self._last_line >= 1.0:  # at most a line a second
            self._last_line = time.monotonic()
            self.stream.write(f"{self.desc}: {self.done}/{self.total} {self.unit}\n")
            self.stream.flush()

    def __call__(self, n: int = 1) -> None:
        self.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
