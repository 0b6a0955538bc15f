"""The per-source SQL is made from the contracts (issue 24): no `.sql` file names a source, and
the only names that enter SQL text are contract names, checked and quoted by one function."""

from __future__ import annotations

import re

import pytest

from hearth.settings import SQL_DIR
from hearth.sources import SOURCES, SourceError, quote, sql_names
from hearth.warehouse import connect, source_sql


def _code(text: str) -> str:
    """A SQL file without its comments."""
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


def test_no_sql_file_names_a_source():
    names = "|".join(SOURCES)
    pattern = re.compile(rf"\b(raw_)?({names})\b")
    found = {
        p.relative_to(SQL_DIR).as_posix(): sorted(
            {m.group(0) for m in pattern.finditer(_code(p.read_text()))}
        )
        for p in sorted(SQL_DIR.rglob("*.sql"))
    }
    assert {p: n for p, n in found.items() if n} == {}


@pytest.mark.parametrize(
    "bad", ['x" ; DROP TABLE t; --', "Health", "1abc", "a-b", "a b", "", "raw_x'", None]
)
def test_only_a_plain_contract_name_is_quoted_into_sql(bad):
    if bad is None:
        assert quote(bad) == "NULL"
        return
    with pytest.raises(SourceError, match="is not a name Hearth uses in SQL"):
        quote(bad)
    with pytest.raises(SourceError):
        quote(bad, as_text=True)


def test_a_template_is_filled_only_with_quoted_contract_names(tmp_path):
    fire = SOURCES["fire"]
    names = sql_names(fire)
    assert names["raw_table"] == '"raw_fire"' and names["person_key"] == "NULL"
    assert names["source_text"] == "'fire'" and names["detail_columns"] == '"cause"'
    text = source_sql("linkage/source_events", fire)
    assert "{" not in _code(text) and '"raw_fire"' in text
    # every source's raw table is typed as its contract says
    with connect(tmp_path / "w.duckdb") as con:
        for s in SOURCES.values():
            cols = con.sql(f"DESCRIBE raw_{s.name}").fetchall()
            assert [c[0] for c in cols] == [*s.columns, "_row_number", "_extract_month"]


@pytest.mark.parametrize(
    "change, words",
    [
        (("    - property: eventCode\n      value: kind\n", ""),
         "exactly one column with eventCode"),
        (("    - property: linkKey\n      value: household\n", ""),
         "person or household key"),
        (("- property: agency\n  value: fire\n", ""), "names the agency"),
        (("value:\n  - DWELLING_FIRE\nschema:", "value:\n  - HOUSE_FIRE\nschema:"),
         "'HOUSE_FIRE' is not a code of event_type"),
        (("  value: event_date\n- property: listOrder", "  value: when\n- property: listOrder"),
         "dateColumn must name one of its columns"),
    ],
)  # fmt: skip
def test_a_contract_missing_what_hearth_needs_is_refused_in_a_sentence(change, words, tmp_path):
    from hearth.settings import CONTRACTS_DIR
    from hearth.sources import KINDS, _read

    text = (CONTRACTS_DIR / "fire.yaml").read_text(encoding="utf-8")
    assert change[0] in text
    path = tmp_path / "fire.yaml"
    path.write_text(text.replace(change[0], change[1]), encoding="utf-8")
    with pytest.raises(SourceError, match=re.escape(words)) as e:
        _read(path, KINDS)
    assert str(e.value).startswith(str(path))
