"""The corpus's cases for identifiers in the forms careless exports really produce (issue 14):
dashed, dotted and glued NHS numbers, international phone numbers, postcodes without their
space, names and other identifiers where a record id of the agency's form belongs. Each either
refuses the file (the guard) or quarantines the row with the value withheld — stored nowhere,
not even in the quarantine."""

from __future__ import annotations

import polars as pl

from tests.support.quality_corpus import (
    BASELINE,
    NHS_A,
    NHS_B,
    Case,
    Loaded,
    Refused,
    put_rows,
    rows_where,
    text_case,
)

NHS_DASHED = f"{NHS_A[:3]}-{NHS_A[3:6]}-{NHS_A[6:]}"
NHS_DOTTED = f"{NHS_B[:3]}.{NHS_B[3:6]}.{NHS_B[6:]}"
NHS_GLUED = f"HL{NHS_B}X"
PHONE_INTERNATIONAL = "+44 (0)20 7946 0000"
POSTCODE_UNSPACED = "SW1A1AA"
NAME = "John Smith"
HOSPITAL_NUMBER = "RX4471203"  # a local patient number: not an NHS number, still identifying

IDENTIFIER_CASES: list[Case] = [
    Case(
        "nhs_number_dashed",
        "police",
        "NHS numbers written 3-3-4 with dashes where person pseudonyms belong",
        text_case("police", lambda df: put_rows(df, "person_pid", [0, 5], NHS_DASHED)),
        Refused("no_raw_identifiers", "person_pid"),
        secret=NHS_DASHED,
    ),
    Case(
        "nhs_number_dotted",
        "social_care",
        "an NHS number written with dots where a person pseudonym belongs",
        text_case(
            "social_care",
            lambda df: put_rows(
                df, "person_pid", rows_where(df, pl.col("person_pid").is_not_null(), 1), NHS_DOTTED
            ),
        ),
        Refused("no_raw_identifiers", "person_pid"),
        secret=NHS_DOTTED,
    ),
    Case(
        "nhs_number_glued",
        "health",
        "an NHS number glued to letters inside a record id",
        text_case("health", lambda df: put_rows(df, "record_id", [3], NHS_GLUED)),
        Refused("no_raw_identifiers", "record_id"),
        secret=NHS_B,
    ),
    Case(
        "phone_international",
        "fire",
        "a London number in international form as a record id",
        text_case("fire", lambda df: put_rows(df, "record_id", [1], PHONE_INTERNATIONAL)),
        Refused("no_raw_identifiers", "record_id"),
        secret=PHONE_INTERNATIONAL,
    ),
    Case(
        "postcode_unspaced",
        "fire",
        "a postcode without its space where the household pseudonym belongs",
        text_case("fire", lambda df: put_rows(df, "household_pid", [2], POSTCODE_UNSPACED)),
        Refused("no_raw_identifiers", "household_pid"),
        secret=POSTCODE_UNSPACED,
    ),
    Case(
        "name_as_record_id",
        "police",
        "a person's name where the record id belongs",
        text_case("police", lambda df: put_rows(df, "record_id", [4], NAME)),
        Loaded({"malformed_value": 1}),
        secret=NAME,
        withheld=True,
    ),
    Case(
        "hospital_number_as_pid",
        "health",
        "a local hospital number where the person pseudonym belongs",
        text_case("health", lambda df: put_rows(df, "person_pid", [6, 9], HOSPITAL_NUMBER)),
        Loaded({"malformed_pid": 2}),
        secret=HOSPITAL_NUMBER,
        withheld=True,
    ),
    Case(
        "record_ids_of_another_form",
        "police",
        "every record id in another system's form",
        text_case(
            "police",
            lambda df: df.with_columns(
                (pl.lit("POL/") + pl.col("record_id").str.slice(2)).alias("record_id")
            ),
        ),
        Refused("schema_matches_contract", "record_id"),
    ),
    Case(
        "header_repeated_mid_file",
        "police",
        "two exports pasted together: the header row again in the middle of the file",
        text_case(
            "police",
            lambda df: pl.concat(
                [
                    df.head(10),
                    pl.DataFrame([dict(zip(df.columns, df.columns, strict=True))]),
                    df.slice(10),
                ]
            ),
        ),
        Loaded({"malformed_value": 1}, extra_rows=1),
    ),
    Case(
        "excel_scientific_uprn",
        "fire",
        "a UPRN that Excel turned into scientific notation where the pseudonym belongs",
        text_case("fire", lambda df: put_rows(df, "household_pid", [3], "1.00023E+11")),
        Loaded({"malformed_pid": 1}),
        secret="1.00023E+11",
        withheld=True,
    ),
    Case(
        "fractional_integer",
        "people",
        "a birth year with a fraction (7.5 is not truncated to 7)",
        text_case("people", lambda df: put_rows(df, "birth_year", [2], "1980.5"), BASELINE),
        Loaded({"not_a_number": 1}),
        secret="1980.5",
        month=BASELINE,
        base_month=BASELINE,
        withheld=True,
    ),
]
