"""Peak memory and CPU seconds of the whole process tree, sampled in a background thread and
attributed to whichever stage is running. CPU seconds say what a step costs when the machine
is shared (wall seconds then measure the neighbours too)."""

from __future__ import annotations

import threading
import time

import psutil


class TreeMemory:
    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self.stage = "start"
        self.peaks: dict[str, int] = {}
        self.cpu: dict[str, float] = {}  # CPU seconds (user + system) of the tree per stage
        self.peak = 0
        self._cpu_seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _cpu(self) -> float:
        """CPU seconds the tree used since the last sample (processes that ended between two
        samples are counted up to their last sample, and their waited children's time)."""
        me = psutil.Process()
        spent = 0.0
        for p in (me, *me.children(recursive=True)):
            try:
                t = p.cpu_times()
            except psutil.Error:
                continue
            total = t.user + t.system + t.children_user + t.children_system
            spent += total - self._cpu_seen.get(p.pid, 0.0)
            self._cpu_seen[p.pid] = total
        return spent

    def _run(self) -> None:
        while not self._stop.is_set():
            stage = self.stage
            self.cpu[stage] = self.cpu.get(stage, 0.0) + self._cpu()
            rss = self._rss()
            self.peak = max(self.peak, rss)
            self.peaks[stage] = max(self.peaks.get(stage, 0), rss)
            time.sleep(self.interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
