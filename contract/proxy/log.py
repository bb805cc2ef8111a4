"""Violations as JSON lines: one object per violation, appended and flushed at once."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any


class ViolationLog:
    def __init__(self, path: Path | None):
        self._lock = threading.Lock()
        self._stream: IO[str] = path.open("a", encoding="utf-8") if path else sys.stderr
        self._owned = path is not None

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           **record}, default=str)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def close(self) -> None:
        if self._owned:
            self._stream.close()
