"""A corpus of malformed extracts, made by code from a small valid synthetic world.

Each `Case` takes one valid extract of the world, breaks it in one way an agency might, writes
it into a landing tree and says exactly what the quality gate must do with it: refuse the whole
file (`Refused`: the batch rule and the column it names) or load it with some rows quarantined
(`Loaded`: quarantined rows by rule). `secret` is the offending value: it may be kept only in
the quarantine table's row_json (the row as received, for `hearth quarantine show`), and there
only when it has its column's declared shape (`withheld` says it has not: a date in another
format, a code not on the list, words in a number column), never in a message, a log, another
warehouse table or an output.

The outcomes are the decisions documented in docs/quality-gate.md.
`tests/unit/ingest/test_quality_gate.py` runs every case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from hearth.sources import SOURCES, landing_file_name

WORLD = {"households": 2000, "months": 4, "end": "2025-12", "seed": 3, "mess_rate": 0.0}
MONTHS = ("2025-09", "2025-10", "2025-11", "2025-12")
BASELINE = MONTHS[0]  # the registers' full snapshot
LATEST = MONTHS[-1]


def make_world(root: Path) -> Path:
    """Synthesise the valid world (no mess) and return its landing folder."""
    from hearth.synth import synthesise

    synthesise(root / "landing", root / "_truth", **WORLD)
    # the world writes no offers unless it runs the closed loop: write a month of them each
    from tests.support.interventions import world_households, write_interventions

    write_interventions(root / "landing", MONTHS, world_households(root / "landing", BASELINE))
    return root / "landing"


def nhs_number(stem: str) -> str:
    """A 10-digit number passing the NHS modulus-11 check, from a 9-digit stem."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(stem))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    if check == 10:
        raise ValueError(f"stem {stem} has no valid check digit")
    return stem + str(check)


NHS_A = nhs_number("943476591")  # 9434765919
NHS_B = nhs_number("401023213")
NHS_FAILS_CHECK = NHS_A[:9] + str((int(NHS_A[9]) + 1) % 10)


@dataclass(frozen=True)
class Refused:
    rule: str
    column: str | None = None


@dataclass(frozen=True)
class Loaded:
    quarantined: dict[str, int] = field(default_factory=dict)
    extra_rows: int = 0  # rows received beyond the valid extract's


@dataclass
class World:
    landing: Path

    def path(self, source: str, month: str) -> Path:
        return self.landing / source / month / landing_file_name(source, month)

    def frame(self, source: str, month: str = LATEST) -> pl.DataFrame:
        """A valid extract as the agency sent it: CSV all text; Parquet with its types."""
        p = self.path(source, month)
        if SOURCES[source].file_format == "parquet":
            return pl.read_parquet(p)
        return pl.read_csv(p, infer_schema=False)

    def text(self, source: str, month: str = LATEST) -> pl.DataFrame:
        """A valid extract with every column as text."""
        df = self.frame(source, month)
        return df.with_columns(pl.all().cast(pl.String))

    def rows(self, source: str, month: str = LATEST) -> int:
        return self.frame(source, month).height


Builder = Callable[[World, Path], None]


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    what: str
    build: Builder  # writes the broken file to the given path
    expect: Refused | Loaded
    secret: str | None = None
    month: str = LATEST  # the folder the file is landed in
    base_month: str = LATEST  # the valid extract it was made from
    before: tuple[str, ...] = ()  # valid months of this source loaded first
    suffix: str | None = None  # file suffix when not the source's own format
    # the offending value may identify someone: it is withheld even from the quarantine
    withheld: bool = False

    def file_path(self, landing: Path) -> Path:
        name = landing_file_name(self.source, self.month)
        if self.suffix:
            name = name.rsplit(".", 1)[0] + self.suffix
        return landing / self.source / self.month / name


# --- writing helpers ---------------------------------------------------------------------------


def csv_bytes(df: pl.DataFrame, sep: str = ",", header: bool = True) -> bytes:
    return df.write_csv(separator=sep, include_header=header).encode("utf-8")


def put_rows(df: pl.DataFrame, column: str, rows: list[int], value: str | None) -> pl.DataFrame:
    """Set `column` to `value` on the given row positions (the column becomes text)."""
    idx = pl.int_range(pl.len())
    return df.with_columns(
        pl.when(idx.is_in(rows))
        .then(pl.lit(value, pl.String))
        .otherwise(pl.col(column).cast(pl.String))
        .alias(column)
    )


def rows_where(df: pl.DataFrame, expr: pl.Expr, n: int) -> list[int]:
    idx = df.with_row_index("_i").filter(expr)["_i"].to_list()
    if len(idx) < n:
        raise AssertionError(f"the world has only {len(idx)} rows for this case, needs {n}")
    return idx[:n]


def write_csv(df: pl.DataFrame, **kw) -> Builder:
    return lambda w, path: path.write_bytes(csv_bytes(df, **kw))


def text_case(source: str, change: Callable[[pl.DataFrame], pl.DataFrame], month: str = LATEST):
    """A builder that reads the valid extract as text, changes it and writes it in the source's
    own format (Parquet columns changed to text stay text)."""

    def build(w: World, path: Path) -> None:
        base = w.frame(source, month)
        df = change(base)
        if SOURCES[source].file_format == "parquet":
            df.write_parquet(path)
        else:
            path.write_bytes(csv_bytes(df.with_columns(pl.all().cast(pl.String))))

    return build


def raw_bytes(source: str, change: Callable[[bytes], bytes], month: str = LATEST) -> Builder:
    return lambda w, path: path.write_bytes(change(w.path(source, month).read_bytes()))


# --- the cases -----------------------------------------------------------------------------------

DOB = "14/03/1987"
EMAIL = "jo.bloggs@example.org"
PHONE = "07700 900461"
POSTCODE = "SW1A 1AA"
UPRN = "100023336956"
SURNAME = "Featherstonehaugh"


def _dates(fmt: str) -> Callable[[pl.DataFrame], pl.DataFrame]:
    return lambda df: df.with_columns(
        pl.col("event_date").cast(pl.String).str.to_date("%Y-%m-%d").dt.strftime(fmt)
    )


def _mixed_dates(df: pl.DataFrame) -> pl.DataFrame:
    d = df["event_date"].str.to_date("%Y-%m-%d")
    out = df
    for i, fmt in ((1, "%d/%m/%Y"), (4, "%Y%m%d"), (9, "%-d %b %Y")):
        out = put_rows(out, "event_date", [i], d[i].strftime(fmt))
    return out


def _timestamps(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.col("event_date").cast(pl.Datetime("us")))


def _duplicate_ids(df: pl.DataFrame) -> pl.DataFrame:
    # rows 5 and 6 take the record ids of rows 0 and 1: same id, different record
    ids = df["record_id"]
    return put_rows(put_rows(df, "record_id", [5], ids[0]), "record_id", [6], ids[1])


def _volume_jump(w: World, path: Path) -> None:
    df = w.frame("health")
    copies = [df] + [
        df.with_columns((pl.col("record_id") + f"-{k}").alias("record_id")) for k in range(1, 4)
    ]
    big = pl.concat(copies)
    if big.height / w.rows("health", "2025-11") <= 3.2:
        raise AssertionError("the world's volumes changed: the jump is no longer far off")
    big.write_parquet(path)


def _ragged(w: World, path: Path) -> None:
    lines = w.path("fire", LATEST).read_bytes().split(b"\n")
    lines[3] = lines[3] + b",EXTRA"
    path.write_bytes(b"\n".join(lines))


def _truncated(w: World, path: Path) -> None:
    data = w.path("health", LATEST).read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])


def _blank_lines(w: World, path: Path) -> None:
    lines = w.path("fire", LATEST).read_bytes().rstrip(b"\n").split(b"\n")
    lines.insert(3, b"")
    path.write_bytes(b"\r\n".join(lines) + b"\r\n\r\n\r\n")


def _padded(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        (pl.lit("  ") + pl.col(c) + pl.lit(" ")).alias(c) for c in ("event_type", "record_id")
    )


def _null_type_parquet(w: World, path: Path) -> None:
    df = w.frame("fire").with_columns(pl.lit(None).alias("cause"))
    assert df.schema["cause"] == pl.Null
    df.write_parquet(path)


def _zero_rows_parquet(w: World, path: Path) -> None:
    w.frame("people").head(0).write_parquet(path)


def _append(source: str, extra: Callable[[World], pl.DataFrame]) -> Builder:
    def build(w: World, path: Path) -> None:
        df = pl.concat([w.text(source), extra(w)])
        if SOURCES[source].file_format == "parquet":
            df.write_parquet(path)
        else:
            path.write_bytes(csv_bytes(df))

    return build


CASES: list[Case] = [
    # -- files that cannot be read -------------------------------------------------------------
    Case(
        "truncated_parquet",
        "health",
        "a Parquet file cut short in transfer",
        _truncated,
        Refused("file_readable"),
    ),
    Case(
        "latin1_csv",
        "social_care",
        "a CSV saved as Latin-1, not UTF-8",
        lambda w, p: p.write_bytes(
            csv_bytes(put_rows(w.text("social_care"), "record_id", [2], "SC-Zoë"))
            .decode()
            .encode("latin-1")
        ),
        Refused("file_readable"),
        secret="SC-Zo",
    ),
    Case(
        "ragged_csv",
        "fire",
        "a CSV row with one field too many",
        _ragged,
        Refused("file_readable"),
        secret="EXTRA",
    ),
    Case(
        "empty_csv",
        "fire",
        "an empty file (0 bytes)",
        lambda w, p: p.write_bytes(b""),
        Refused("not_empty"),
    ),
    Case(
        "empty_parquet",
        "health",
        "an empty .parquet file (0 bytes)",
        lambda w, p: p.write_bytes(b""),
        Refused("not_empty"),
    ),
    Case(
        "header_only_csv",
        "social_care",
        "a CSV with its header and no rows",
        lambda w, p: p.write_bytes(csv_bytes(w.text("social_care").head(0))),
        Refused("not_empty"),
    ),
    Case(
        "zero_row_parquet",
        "people",
        "a Parquet file with the columns and no rows",
        _zero_rows_parquet,
        Refused("not_empty"),
    ),
    # -- format and schema drift ------------------------------------------------------------------
    Case(
        "semicolons",
        "police",
        "a CSV separated by semicolons",
        lambda w, p: p.write_bytes(csv_bytes(w.text("police"), sep=";")),
        Refused("schema_matches_contract"),
    ),
    Case(
        "tabs",
        "fire",
        "a tab-separated file with a .csv name",
        lambda w, p: p.write_bytes(csv_bytes(w.text("fire"), sep="\t")),
        Refused("schema_matches_contract"),
    ),
    Case(
        "dropped_column",
        "health",
        "the category column left out",
        text_case("health", lambda df: df.drop("category")),
        Refused("schema_matches_contract", "category"),
    ),
    Case(
        "extra_column",
        "police",
        "a column the contract does not have",
        text_case("police", lambda df: df.with_columns(pl.lit("x").alias("officer_notes"))),
        Refused("schema_matches_contract", "officer_notes"),
    ),
    Case(
        "renamed_column",
        "social_care",
        "event_type renamed event_kind",
        text_case("social_care", lambda df: df.rename({"event_type": "event_kind"})),
        Refused("schema_matches_contract", "event_type"),
    ),
    Case(
        "headerless_csv",
        "police",
        "a CSV sent without its header row",
        lambda w, p: p.write_bytes(csv_bytes(w.text("police"), header=False)),
        Refused("schema_matches_contract"),
        secret="__first_record_id__",
    ),
    Case(
        "text_in_numeric_column",
        "people",
        "birth_year as words in every row",
        text_case(
            "people", lambda df: df.with_columns(pl.lit("about 1980").alias("birth_year")), BASELINE
        ),
        Refused("schema_matches_contract", "birth_year"),
        secret="about 1980",
        month=BASELINE,
        base_month=BASELINE,
    ),
    Case(
        "dates_dd_mm_yyyy",
        "social_care",
        "every date written DD/MM/YYYY",
        text_case("social_care", _dates("%d/%m/%Y")),
        Refused("schema_matches_contract", "event_date"),
    ),
    Case(
        "dates_yyyymmdd",
        "health",
        "every date written YYYYMMDD, as text in Parquet",
        text_case("health", _dates("%Y%m%d")),
        Refused("schema_matches_contract", "event_date"),
    ),
    # -- the month folder and volume ----------------------------------------------------------
    Case(
        "folder_before_dates",
        "police",
        "December's file landed in the June folder",
        raw_bytes("police", lambda b: b),
        Refused("extract_month_matches_folder", "event_date"),
        month="2025-06",
    ),
    Case(
        "folder_after_dates",
        "social_care",
        "September's file landed in the December folder",
        raw_bytes("social_care", lambda b: b, month="2025-09"),
        Refused("extract_month_matches_folder", "event_date"),
        base_month="2025-09",
    ),
    Case(
        "volume_drop",
        "health",
        "a fifth of the usual rows (a partial extract)",
        text_case("health", lambda df: df.head(df.height // 5)),
        Refused("volume_in_line"),
        before=("2025-11",),
    ),
    Case(
        "volume_jump",
        "health",
        "four times the usual rows",
        _volume_jump,
        Refused("volume_in_line"),
        before=("2025-11",),
    ),
    # -- raw identifiers ---------------------------------------------------------------------------
    Case(
        "nhs_number_spaced",
        "police",
        "NHS numbers (spaced) where person pseudonyms belong",
        text_case(
            "police",
            lambda df: put_rows(
                df, "person_pid", [0, 3, 8], f"{NHS_A[:3]} {NHS_A[3:6]} {NHS_A[6:]}"
            ),
        ),
        Refused("no_raw_identifiers", "person_pid"),
        secret=f"{NHS_A[:3]} {NHS_A[3:6]}",
    ),
    Case(
        "nhs_number_unspaced",
        "health",
        "an NHS number (unspaced) as a record id",
        text_case("health", lambda df: put_rows(df, "record_id", [7], NHS_B)),
        Refused("no_raw_identifiers", "record_id"),
        secret=NHS_B,
    ),
    Case(
        "postcode",
        "fire",
        "a postcode where the household pseudonym belongs",
        text_case("fire", lambda df: put_rows(df, "household_pid", [1], POSTCODE)),
        Refused("no_raw_identifiers", "household_pid"),
        secret=POSTCODE,
    ),
    Case(
        "email",
        "social_care",
        "an e-mail address as a record id",
        text_case("social_care", lambda df: put_rows(df, "record_id", [4], EMAIL)),
        Refused("no_raw_identifiers", "record_id"),
        secret=EMAIL,
    ),
    Case(
        "phone",
        "fire",
        "a UK mobile number as a record id",
        text_case("fire", lambda df: put_rows(df, "record_id", [2], PHONE)),
        Refused("no_raw_identifiers", "record_id"),
        secret=PHONE,
    ),
    Case(
        "date_of_birth",
        "people",
        "full dates of birth in birth_year",
        text_case("people", lambda df: put_rows(df, "birth_year", [3, 5], DOB), BASELINE),
        Refused("no_raw_identifiers", "birth_year"),
        secret=DOB,
        month=BASELINE,
        base_month=BASELINE,
    ),
    Case(
        "uprn",
        "fire",
        "a raw UPRN where the household pseudonym belongs",
        text_case("fire", lambda df: put_rows(df, "household_pid", [0], UPRN)),
        Refused("no_raw_identifiers", "household_pid"),
        secret=UPRN,
    ),
    Case(
        "headerless_with_nhs_number",
        "police",
        "no header row, and an NHS number in the first row",
        lambda w, p: p.write_bytes(
            csv_bytes(put_rows(w.text("police"), "person_pid", [0], NHS_A), header=False)
        ),
        Refused("no_raw_identifiers"),
        secret=NHS_A,
    ),
    Case(
        "column_named_nhs_number",
        "health",
        "an extra column named nhs_number",
        text_case("health", lambda df: df.with_columns(pl.lit(NHS_A).alias("nhs_number"))),
        Refused("no_raw_identifiers", "nhs_number"),
        secret=NHS_A,
    ),
    Case(
        "column_named_date_of_birth",
        "people",
        "birth_year renamed date_of_birth",
        text_case("people", lambda df: df.rename({"birth_year": "date_of_birth"}), BASELINE),
        Refused("no_raw_identifiers", "date_of_birth"),
        month=BASELINE,
        base_month=BASELINE,
    ),
    Case(
        "column_named_surname",
        "police",
        "an extra column of surnames",
        text_case("police", lambda df: df.with_columns(pl.lit(SURNAME).alias("surname"))),
        Refused("no_raw_identifiers", "surname"),
        secret=SURNAME,
    ),
    # -- accepted as they are --------------------------------------------------------------------
    Case(
        "bom_crlf",
        "social_care",
        "a UTF-8 CSV with a byte-order mark and Windows line endings",
        raw_bytes("social_care", lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n")),
        Loaded(),
    ),
    Case(
        "blank_lines",
        "fire",
        "blank lines inside and after the rows, Windows line endings",
        _blank_lines,
        Loaded(),
    ),
    Case("padded_values", "police", "spaces around values", text_case("police", _padded), Loaded()),
    Case(
        "parquet_timestamps",
        "health",
        "dates as midnight timestamps in Parquet",
        text_case("health", _timestamps),
        Loaded(),
    ),
    Case(
        "parquet_null_column",
        "fire",
        "Parquet (not CSV) with an all-empty optional column",
        _null_type_parquet,
        Loaded(),
        suffix=".parquet",
    ),
    Case(
        "nhs_like_failing_check",
        "police",
        "a 10-digit record id that fails the NHS check: not refused, but not of the agency's "
        "form either, so held without its value",
        text_case("police", lambda df: put_rows(df, "record_id", [3], NHS_FAILS_CHECK)),
        Loaded({"malformed_value": 1}),
        secret=NHS_FAILS_CHECK,
        withheld=True,
    ),
    # -- rows quarantined -----------------------------------------------------------------------
    Case(
        "dates_mixed_rows",
        "police",
        "three rows with dates in other formats",
        text_case("police", _mixed_dates),
        Loaded({"invalid_date": 3}),
        secret="__mixed_date__",
        withheld=True,
    ),
    Case(
        "future_dates",
        "health",
        "four events dated after the extract month",
        text_case("health", lambda df: put_rows(df, "event_date", [2, 3, 10, 11], "2026-02-14")),
        Loaded({"future_date": 4}),
        secret="2026-02-14",
    ),
    Case(
        "impossible_date",
        "social_care",
        "an event dated 1899",
        text_case("social_care", lambda df: put_rows(df, "event_date", [6], "1899-12-31")),
        Loaded({"impossible_date": 1}),
        secret="1899-12-31",
    ),
    Case(
        "exact_duplicates",
        "police",
        "three rows sent twice",
        _append("police", lambda w: w.text("police").slice(2, 3)),
        Loaded({"duplicate_row": 3}, extra_rows=3),
    ),
    Case(
        "duplicate_ids",
        "social_care",
        "two record ids used twice for different records",
        text_case("social_care", _duplicate_ids),
        Loaded({"duplicate_key": 2}),
    ),
    Case(
        "late_duplicates",
        "health",
        "five of November's records sent again in December",
        _append("health", lambda w: w.text("health", "2025-11").head(5)),
        Loaded({"duplicate_record_id": 5}, extra_rows=5),
        before=("2025-11",),
    ),
    Case(
        "missing_keys",
        "health",
        "three events without a person pseudonym",
        text_case("health", lambda df: put_rows(df, "person_pid", [1, 2, 3], None)),
        Loaded({"missing_value": 3}),
    ),
    Case(
        "malformed_pids",
        "police",
        "two household pseudonyms in upper case",
        text_case(
            "police",
            lambda df: put_rows(
                df,
                "household_pid",
                rows_where(df, pl.col("household_pid").is_not_null(), 2),
                "A" * 63 + "F",
            ),
        ),
        Loaded({"malformed_pid": 2}),
        secret="A" * 63 + "F",
        withheld=True,
    ),
    Case(
        "unknown_codes",
        "fire",
        "a cause code the contract does not list",
        text_case("fire", lambda df: put_rows(df, "cause", [0, 1], "ARSON_SUSPECTED")),
        Loaded({"unknown_code": 2}),
        secret="ARSON_SUSPECTED",
        withheld=True,
    ),
    Case(
        "missing_detail",
        "police",
        "domestic abuse without its risk level",
        text_case(
            "police",
            lambda df: put_rows(
                df, "risk_level", rows_where(df, pl.col("event_type") == "DOMESTIC_ABUSE", 2), None
            ),
        ),
        Loaded({"missing_required_detail": 2}),
    ),
    Case(
        "text_in_numeric_rows",
        "addresses",
        "a deprivation decile written as a word",
        text_case(
            "addresses", lambda df: put_rows(df, "imd_decile", [10, 20, 30], "seventh"), BASELINE
        ),
        Loaded({"not_a_number": 3}),
        secret="seventh",
        withheld=True,
        month=BASELINE,
        base_month=BASELINE,
    ),
    Case(
        "out_of_range",
        "people",
        "birth years before 1900 (year 999)",
        text_case("people", lambda df: put_rows(df, "birth_year", [1, 2], "0999"), BASELINE),
        Loaded({"out_of_range": 2}),
        secret="0999",
        month=BASELINE,
        base_month=BASELINE,
    ),
    # -- interventions (issue 26): the offer's own rules -------------------------------------------
    Case(
        "unknown_response",
        "interventions",
        "a response code the contract does not list",
        text_case("interventions", lambda df: put_rows(df, "response", [3, 4], "MAYBE_LATER")),
        Loaded({"unknown_code": 2}),
        secret="MAYBE_LATER",
        withheld=True,
    ),
    Case(
        "completed_before_offer",
        "interventions",
        "a visit completed before it was offered",
        text_case(
            "interventions",
            lambda df: put_rows(
                put_rows(df, "response", [5], "ACCEPTED"), "completed_date", [5], "2025-11-02"
            ),
        ),
        Loaded({"date_out_of_order": 1}),
    ),
    Case(
        "completed_when_declined",
        "interventions",
        "a completed date on offers that were declined",
        text_case(
            "interventions",
            lambda df: put_rows(
                put_rows(df, "response", [6, 7], "DECLINED"), "completed_date", [6, 7], "2025-12-30"
            ),
        ),
        Loaded({"detail_not_allowed": 2}),
    ),
    Case(
        "rank_not_from_list",
        "interventions",
        "a list rank on an offer not made from a list",
        text_case(
            "interventions",
            lambda df: put_rows(
                put_rows(put_rows(df, "from_list", [8], "N"), "list_generation", [8], None),
                "list_rank",
                [8],
                "17",
            ),
        ),
        Loaded({"detail_not_allowed": 1}),
    ),
]


from tests.support.quality_corpus_identifiers import IDENTIFIER_CASES  # noqa: E402

CASES += IDENTIFIER_CASES


def case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def secret_of(c: Case, w: World) -> str | None:
    """The offending value, for the cases whose value comes from the world."""
    if c.secret == "__first_record_id__":
        return w.frame(c.source, c.base_month)["record_id"][0]
    if c.secret == "__mixed_date__":
        d = w.frame(c.source, c.base_month)["event_date"].str.to_date("%Y-%m-%d")[9]
        return d.strftime("%-d %b %Y")
    return c.secret


def build(c: Case, w: World, landing: Path) -> Path:
    path = c.file_path(landing)
    path.parent.mkdir(parents=True, exist_ok=True)
    c.build(w, path)
    return path


def valid_rows(c: Case, w: World) -> int:
    return w.rows(c.source, c.base_month)
