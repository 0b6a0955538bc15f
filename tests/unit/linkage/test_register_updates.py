"""A register sends its baseline once and then only what changed: a month with no changes is a
header and no rows, and must load (a small area often has such months), while an event
extract with no rows, or a register's first month with none, is refused."""

from pathlib import Path

import polars as pl

from hearth.ingest.run import ingest_source
from hearth.sources import landing_file_name
from hearth.synth import synthesise
from hearth.warehouse import connect


def test_a_register_month_without_changes_loads_but_an_empty_event_extract_does_not(tmp_path):
    landing = tmp_path / "landing"
    synthesise(landing, tmp_path / "truth", households=300, seed=2, months=3, end="2025-03")
    months = ["2025-01", "2025-02", "2025-03"]

    def empty(source: str, month: str) -> Path:
        path = landing / source / month / landing_file_name(source, month)
        if path.suffix == ".parquet":
            pl.read_parquet(path).head(0).write_parquet(path)
        else:
            path.write_text(path.read_text().splitlines()[0] + "\n")
        return path

    empty("addresses", "2025-02")
    empty("police", "2025-02")
    with connect(tmp_path / "w.duckdb") as con:
        addresses = {r.month: r for r in ingest_source(con, landing, "addresses", months).results}
        police = {r.month: r for r in ingest_source(con, landing, "police", months).results}
    assert addresses["2025-02"].status == "loaded"
    assert addresses["2025-02"].rows_received == addresses["2025-02"].rows_accepted == 0
    assert addresses["2025-03"].status == "loaded"
    assert (police["2025-02"].status, police["2025-02"].rule) == ("refused", "not_empty")

    # a register's baseline with no rows is refused: there is nothing to update
    empty("people", "2025-01")
    with connect(tmp_path / "w2.duckdb") as con:
        people = {r.month: r for r in ingest_source(con, landing, "people", months).results}
    assert (people["2025-01"].status, people["2025-01"].rule) == ("refused", "not_empty")
