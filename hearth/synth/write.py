"""Landing files: fixed column order, fixed writer settings, no timestamps, so equal inputs give
equal bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from hearth.sources import SOURCES, landing_file_name

ROW_GROUP_SIZE = 1 << 20
PARQUET_OPTIONS = dict(
    compression="zstd",
    compression_level=3,
    use_dictionary=True,
    write_statistics=True,
    data_page_version="1.0",
)
COLUMN_TYPES = {
    "imd_decile": pa.int64(),
    "birth_year": pa.int64(),
    "updated_date": pa.date32(),
    "effective_date": pa.date32(),
    "event_date": pa.date32(),
}


def dates(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), pa.int32()).cast(pa.date32())


def codes(values: tuple[str | None, ...] | list[str | None], idx: np.ndarray) -> pa.Array:
    """Strings by index into a small vocabulary; a negative index is null."""
    vocab = pa.array(list(values), pa.string())
    idx = np.asarray(idx, dtype=np.int64)
    return vocab.take(pa.array(idx, mask=idx < 0))


def take(strings: pa.Array, idx: np.ndarray) -> pa.Array:
    idx = np.asarray(idx, dtype=np.int64)
    return strings.take(pa.array(idx, mask=idx < 0))


def record_ids(prefix: str, numbers: np.ndarray, digits: int) -> pa.Array:
    padded = pc.utf8_lpad(pa.array(numbers, pa.int64()).cast(pa.string()), digits, "0")
    return pc.binary_join_element_wise(prefix, padded, "")


def null_strings(n: int) -> pa.Array:
    return pa.nulls(n, pa.string())


def write_landing(out: Path, source: str, month: str, columns: dict[str, pa.Array]) -> int:
    """Write one extract; returns the row count."""
    spec = SOURCES[source]
    names = tuple(columns)
    assert names in (spec.columns, spec.base_columns), (source, names)  # tokens all or none
    arrays = [columns[c].cast(COLUMN_TYPES.get(c, pa.string())) for c in names]
    table = pa.Table.from_arrays(arrays, names=list(names))
    folder = out / source / month
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / landing_file_name(source, month)
    if spec.file_format == "parquet":
        pq.write_table(table, path, row_group_size=ROW_GROUP_SIZE, **PARQUET_OPTIONS)
    else:
        # pyarrow quotes every header name; agencies' files have a plain header line.
        with path.open("wb") as fh:
            fh.write((",".join(names) + "\n").encode("utf-8"))
            pcsv.write_csv(table, fh, pcsv.WriteOptions(include_header=False, quoting_style="none"))
    return table.num_rows
