"""Where the partnership's routing step (hearth/linkage/partnership.py: `route`) spends its memory
(issue 28: every process of a 1,000,000-household partnership under 8 GB). Calls `route` alone
on a partnership's landing in a fresh home, samples the process's RSS every 0.2 s and DuckDB's
own buffer memory (`duckdb_memory()`, from a cursor of the routing's connection) every second,
each attributed to the routing's last progress message, and hashes every file routed (to
compare a change's output with the code before it, byte for byte).

    nice -n 5 .venv/bin/python benchmarks/routing_memory.py --landing <world>/landing \
        --work /tmp/routing-mem [--label before]

Writes benchmarks/results/routing-memory-<date>-<HHMM>-<label>.json: the peak, the peak per
phase (RSS and DuckDB's), the routing's counts and the output's SHA-256; the file is written
at each phase too (`complete: false`), so a run cut short keeps what it measured. The
routing's DuckDB is held to HEARTH_ROUTING_DUCKDB_MEMORY (default 2GB), recorded."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def _rss_mb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return 0


class Sampler:
    """Peak RSS and DuckDB memory per phase, in a background thread."""

    def __init__(self) -> None:
        self.phase = "start"
        self.rss: dict[str, int] = {}
        self.duck: dict[str, int] = {}
        self.con = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        cur, tick = None, 0
        while not self._stop.is_set():
            phase = self.phase
            self.rss[phase] = max(self.rss.get(phase, 0), _rss_mb())
            tick += 1
            if tick % 5 == 0 and self.con is not None:
                try:
                    cur = cur or self.con.cursor()
                    used = cur.execute(
                        "SELECT sum(memory_usage_bytes)::BIGINT FROM duckdb_memory()"
                    ).fetchall()[0][0]
                    self.duck[phase] = max(self.duck.get(phase, 0), int(used or 0) // 2**20)
                except Exception:  # the connection closed between two samples
                    cur = None
            time.sleep(0.2)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def output_sha(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landing", type=Path, required=True, help="The partnership's landing.")
    parser.add_argument("--work", type=Path, required=True, help="A folder to route into.")
    parser.add_argument("--label", default="routing", help="Names the result file.")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.environ["HEARTH_HOME"] = str(args.work / "home")
    from hearth import settings
    from hearth.linkage import partnership

    sampler = Sampler()
    opened = partnership.connect

    @contextmanager
    def watched(path, *a, **k):
        with opened(path, *a, **k) as con:
            sampler.con = con
            yield con
        sampler.con = None

    partnership.connect = watched
    began = time.time()
    cpu = time.process_time()

    stamp = datetime.now(UTC).strftime("%Y-%m-%d-%H%M")
    out = RESULTS / f"routing-memory-{stamp}-{args.label}.json"
    RESULTS.mkdir(exist_ok=True)

    def record(routing=None) -> dict:
        """The result so far (written at each phase, so a run cut short keeps what it saw)."""
        rss, duck = dict(sampler.rss), dict(sampler.duck)
        result = {
            "landing": str(args.landing),
            "complete": routing is not None,
            "peak_rss_mb": max(rss.values(), default=0),
            "wall_s": round(time.time() - began, 1),
            "cpu_s": round(time.process_time() - cpu, 1),
            "duckdb_memory_limit": settings.routing_duckdb_memory_limit(),
            "phases": [
                {"phase": p, "peak_rss_mb": rss[p], "duckdb_mb": duck.get(p)}
                for p in sorted(rss, key=lambda p: -rss[p])
            ],
        }
        if routing is not None:
            result["routing"] = routing.as_record()
            result["output_sha256"] = output_sha(args.work / "home" / "authorities")
        out.write_text(json.dumps(result, indent=1) + "\n")
        return result

    def say(message: str) -> None:
        print(f"{time.time() - began:7.1f} s  {_rss_mb():6d} MB  {message}", flush=True)
        sampler.phase = message
        record()

    with sampler:
        routing = partnership.route(
            args.landing, args.work / "home" / "authorities", args.work / "scratch.duckdb", say=say
        )
    result = record(routing)
    print(f"Peak {result['peak_rss_mb']} MB; {out}")


if __name__ == "__main__":
    main()
