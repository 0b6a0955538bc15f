"""The splink model that links records without an exact key to the person register, on
keyed-hash tokens only (hearth/privacy/tokens.py): what it compares, how it blocks, how it is
trained and how it predicts, all on the warehouse's own DuckDB connection.

On tokens only exact, hierarchical and set agreement make sense (a hash has no edit
distance): names exact (with term frequencies), swapped with the other name, phonetic, Dice
on the sets of hashed bigrams; date of birth whole, day and month swapped, two parts of three;
address premise, postcode unit, sector, district.

Each source records people with its own errors (police hear a name and write an old surname
or address far more often than a GP record holds one), so after the pooled training each source
with enough records gets its own m by EM on its own records (u stays pooled: it is about the
population, not the recording), and its records are scored with it (`BY_SOURCE`; each part's
term frequencies are its records' with the register's). With one pooled m, dominated by the
cleaner exact-keyed sources, a police record's true match lost too much weight for each
disagreement, and the recalibration (fitted on exact-keyed records) read police's lowest
weights as near-certain non-matches when about a quarter were right (issue 25, seed 431 at
100,000 households: benchmarks/results/linkage-2026-12-07-*).

`SETTINGS_VERSION` names this specification: a change to a comparison or a blocking rule is a
new version, and the model is retrained (hearth/linkage/model_store.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import duckdb

from hearth.warehouse import query, query_one, run_sql

# s2: m estimated for each source's own recording (BY_SOURCE); s3: every blocking rule narrowed
# by a birth part or a place, EM on the counts of each agreement pattern
SETTINGS_VERSION = "s3"
RECORDS = "link_records_in"
REGISTER = "link_register_in"
PART = "link_records_part"  # one part of the records (sql/linkage/link_records_part.sql)
BY_SOURCE = "hearth_m_by_source"  # the model's key holding each source's own splink model
# a source with fewer token records keeps the pooled m (EM on a few hundred records is noise)
MIN_SOURCE_RECORDS = 300
U_PAIRS = 5e5  # pairs sampled for u: ample for 4 comparisons of a few levels each
# EM's pairs per training block, sampled by a hash of the records on each side beyond this: a
# block on a common thing (forename and surname) grows with records x register, i.e. with the
# square of the households (measured: 55 million pairs at 100,000 households, EM's dominant
# cost; about 5.5 billion at 1,000,000), while m needs only enough true matches per level.
# EM's cost is computing these pairs' comparisons (about 9 CPU microseconds a pair), so the cap
# is what bounds it at any size: 3 blocks x 1 million pairs
EM_PAIRS = 1e6
EM_PROBE = 0.01  # the share of each side splink's probe blocks to estimate a block's pairs
SEED = 25  # the u sample's seed: the same data trains the same model


def _null(col: str) -> dict[str, Any]:
    return {
        "sql_condition": f'"{col}_l" IS NULL OR "{col}_r" IS NULL',
        "label_for_charts": "missing",
        "is_null_level": True,
    }


def _level(sql: str, label: str, tf: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"sql_condition": sql, "label_for_charts": label}
    if tf:
        out["tf_adjustment_column"] = tf
        out["tf_adjustment_weight"] = 1.0
    return out


def _dice(col: str, at: float) -> str:
    return (
        f'2.0 * len(list_intersect("{col}_l", "{col}_r")) '
        f'/ (len("{col}_l") + len("{col}_r")) >= {at}'
    )


def _name(part: str, other: str) -> dict[str, Any]:
    tok, ph, bi = f"{part}_token", f"{part}_phonetic_token", f"{part}_bigrams"
    return {
        "output_column_name": f"{part}_name",
        "comparison_levels": [
            _null(tok),
            _level(f'"{tok}_l" = "{tok}_r"', "exact", tf=tok),
            # forename and surname share their tags (tokens.py): swapped names agree crosswise
            _level(f'"{tok}_l" = "{other}_token_r" OR "{other}_token_l" = "{tok}_r"', "swapped"),
            _level(f'"{ph}_l" = "{ph}_r"', "phonetic"),
            _level(_dice(bi, 0.8), "bigram Dice >= 0.8"),
            _level(_dice(bi, 0.6), "bigram Dice >= 0.6"),
            {"sql_condition": "ELSE", "label_for_charts": "else"},
        ],
    }


def _birth() -> dict[str, Any]:
    y, m, d = "birth_year_token", "birth_month_token", "birth_day_token"
    return {
        "output_column_name": "date_of_birth",
        "comparison_levels": [
            _null("birth_token"),
            _level('"birth_token_l" = "birth_token_r"', "exact", tf="birth_token"),
            _level(f'"{y}_l" = "{y}_r" AND "{m}_l" = "{d}_r" AND "{d}_l" = "{m}_r"', "day/month"),
            _level(
                f'("{y}_l" = "{y}_r")::INT + ("{m}_l" = "{m}_r")::INT + ("{d}_l" = "{d}_r")::INT'
                " >= 2",
                "two parts of three",
            ),
            _level(f'"{y}_l" = "{y}_r"', "year"),
            {"sql_condition": "ELSE", "label_for_charts": "else"},
        ],
    }


def _address() -> dict[str, Any]:
    return {
        "output_column_name": "address",
        "comparison_levels": [
            _null("pc_district_token"),
            _level('"premise_token_l" = "premise_token_r"', "premise"),
            _level('"pc_unit_token_l" = "pc_unit_token_r"', "postcode unit"),
            _level('"pc_sector_token_l" = "pc_sector_token_r"', "postcode sector"),
            _level('"pc_district_token_l" = "pc_district_token_r"', "postcode district"),
            {"sql_condition": "ELSE", "label_for_charts": "else"},
        ],
    }


# Each record meets the register people who share one of these; kept narrow so that 1,000,000
# households (2.3M register identities) stay tractable: every rule pairs a rare token with
# another, and a record missed by one (a typo, a move, a new surname) is caught by another.
# Every rule holds a date of birth part or a place (`NARROWING`), so its pairs grow with the
# records, never with records x register: names alone are common values (swapped names alone
# gave 507,000 pairs at 100,000 households, 50 million at 1,000,000), and forename and surname
# within a postcode district 1.3 million. Measured on the keyless records of a 100,000-household
# world against the truth: of 47,189 records whose person any rule met, these rules meet all
# but 8 (docs/performance.md), with 1.0 million fewer pairs to score.
BLOCKING_RULES = [
    "l.family_token = r.family_token AND l.birth_token = r.birth_token",
    "l.given_token = r.given_token AND l.birth_token = r.birth_token",
    "l.birth_token = r.birth_token AND l.pc_district_token = r.pc_district_token",
    "l.given_token = r.given_token AND l.family_token = r.family_token "
    "AND l.pc_sector_token = r.pc_sector_token",
    "l.premise_token = r.premise_token AND l.given_phonetic_token = r.given_phonetic_token",
    "l.given_token = r.family_token AND l.family_token = r.given_token "
    "AND l.birth_year_token = r.birth_year_token",
    "l.given_token = r.family_token AND l.family_token = r.given_token "
    "AND l.pc_district_token = r.pc_district_token",
    "l.family_phonetic_token = r.family_phonetic_token AND l.birth_year_token = r.birth_year_token"
    " AND l.pc_sector_token = r.pc_sector_token",
]
# the tokens that narrow a blocking rule to a date of birth or a place
NARROWING = (
    "birth_token",
    "birth_year_token",
    "pc_unit_token",
    "pc_sector_token",
    "pc_district_token",
    "premise_token",
)
# EM is run on pairs blocked on one thing at a time, so each comparison is estimated on pairs
# not selected by it. splink's EM joins the two inputs stacked with themselves and keeps the
# pairs across them after the join; the side conditions let DuckDB filter each side before
# the join, so the register is not joined with itself on a common value (a date of birth: about
# 160 million register pairs at 1,000,000 households before splink's sample). At 100,000 the
# saving measured was small (0.5 of 10 CPU s in the date-of-birth block).
_SIDES = " AND l.source_dataset = 'records' AND r.source_dataset = 'register'"
TRAINING_BLOCKS = [
    "l.birth_token = r.birth_token" + _SIDES,
    "l.family_token = r.family_token AND l.given_token = r.given_token" + _SIDES,
    "l.premise_token = r.premise_token" + _SIDES,
]


def base_settings(prior: float) -> dict[str, Any]:
    """The untrained settings; `prior` is the chance two random records are the same person."""
    return {
        "link_type": "link_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": prior,
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": r, "sql_dialect": "duckdb"} for r in BLOCKING_RULES
        ],
        "comparisons": [_name("given", "family"), _name("family", "given"), _birth(), _address()],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "em_convergence": 0.001,
        "max_iterations": 20,
    }


def _quiet() -> None:
    # splink's training chatter means nothing to an officer watching a run
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _linker(con: duckdb.DuckDBPyConnection, settings: dict[str, Any], records_table: str = RECORDS):
    from splink import DuckDBAPI, Linker  # splink

    _quiet()
    api = DuckDBAPI(connection=con)
    records = api.register(records_table, dataset_display_name="records")
    register = api.register(REGISTER, dataset_display_name="register")
    return Linker([records, register], settings)


def pooled(model: dict[str, Any]) -> dict[str, Any]:
    """The pooled splink model (what scores a source without its own m)."""
    return {k: v for k, v in model.items() if k != BY_SOURCE}


def _em(linker: Any, progress: Callable[[str], None], what: str) -> None:
    for rule in TRAINING_BLOCKS:
        progress(f"estimating m by expectation maximisation{what}")
        # EM's iterations on the counts of each agreement pattern, not on every pair again
        # (term frequencies still weigh predictions: only m's estimate ignores them)
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule,
            max_pairs=EM_PAIRS,
            record_sample_proportion=EM_PROBE,
            estimate_without_term_frequencies=True,
        )


def train(
    con: duckdb.DuckDBPyConnection, prior: float, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """A trained model (splink's settings with m and u) for the records and register in the
    warehouse: u by random sampling, m by expectation maximisation on at most `EM_PAIRS` pairs
    of each training block; then, under `BY_SOURCE`, each source with at least
    `MIN_SOURCE_RECORDS` records its own m, by EM on its records from the pooled m (u kept)."""
    linker = _linker(con, base_settings(prior))
    try:
        progress("estimating u from random pairs")
        linker.training.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=SEED)
        _em(linker, progress, "")
        model = linker.misc.save_model_to_json()
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()
    own: dict[str, Any] = {}
    for source, records in query(con, "linkage/link_record_sources").fetchall():
        if records < MIN_SOURCE_RECORDS:
            continue
        run_sql(con, "linkage/link_records_part", {"source": source, "own": []})
        linker = _linker(con, model, PART)
        try:
            _em(linker, progress, f" for {source}'s own recording")
            own[source] = linker.misc.save_model_to_json()
        finally:
            linker.table_management.delete_tables_created_by_splink_from_db()
    run_sql(con, "linkage/drop_link_pairs")
    return {**model, BY_SOURCE: own}


def predict(con: duckdb.DuckDBPyConnection, model: dict[str, Any]) -> Callable[[], None]:
    """Score every blocked record-register pair, each source's records with its own m where the
    model has it (`BY_SOURCE`) and the rest with the pooled one, into the table link_pairs.
    Returns what drops it when it is no longer read."""
    own = model.get(BY_SOURCE) or {}
    run_sql(con, "linkage/link_pairs")
    parts = [(source, own[source]) for source in sorted(own)] + [(None, pooled(model))]
    for source, settings in parts:
        run_sql(con, "linkage/link_records_part", {"source": source, "own": sorted(own)})
        if query_one(con, "linkage/link_records_part_count")[0] == 0:  # type: ignore[index]
            continue  # every source has its own m: no record is left for the pooled one
        linker = _linker(con, settings, PART)
        try:
            pairs = linker.inference.predict(threshold_match_probability=0.001)
            pairs.as_duckdbpyrelation().select(
                "unique_id_l, unique_id_r, match_weight, match_probability"
            ).insert_into("link_pairs")
        finally:
            linker.table_management.delete_tables_created_by_splink_from_db()
    return lambda: run_sql(con, "linkage/drop_link_pairs")
