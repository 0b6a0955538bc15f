"""A partnership of three authorities (issue 28): the partnership's landing routed once into each
authority's landing (hearth/linkage/partnership.py), each authority ingested and linked in its
own DuckDB file, against one warehouse of the whole partnership and against the world's truth.

The small world's people move between any two households, so many move between authorities
(`hearth/synth/dynamics.py`); no new mechanism is needed."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
import pytest

from hearth import settings
from hearth.linkage import partnership as partnership_module
from hearth.linkage.partnership import ROUTE_SQL, PartnershipError, _named, read_authorities, route
from hearth.sources import SOURCES
from hearth.synth.params import LA_CODES
from hearth.warehouse import source_sql
from tests.support.partnership import warehouse_of

LINKED = ("linked_by_household_key", "linked_by_person_key")
# A world of its own, shorter than the session's small world: each authority's warehouse and the
# whole partnership's are each a full ingest and link, so months are what this module pays for.
# A year and a half still moves enough people between authorities (the mover test asks for at
# least five; a year of this world moves four).
HOUSEHOLDS, MONTHS = 2000, 18
# The routing's own DuckDB limit, as the module's routing runs under it, and the limit each
# connection the routing opened was held to (read back from DuckDB by the fixture)
ROUTING_LIMIT = "1234MB"
routing_limits_seen: list[str] = []
routing_allocator_seen: list[bool] = []  # DuckDB's allocator's background threads, at its end


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from hearth.synth import synthesise

    root = tmp_path_factory.mktemp("partnership_world")
    synthesise(root / "landing", root / "_truth", households=HOUSEHOLDS, seed=11, months=MONTHS)
    return root


@pytest.fixture(scope="module")
def partnership(world, tmp_path_factory):
    root = tmp_path_factory.mktemp("partnership")
    landing = world / "landing"
    opened = partnership_module.connect

    @contextmanager
    def watched(path, *args, **kwargs):
        with opened(path, *args, **kwargs) as con:
            limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
            routing_limits_seen.append(limit)
            yield con
            limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
            routing_limits_seen.append(limit)
            setting = "SELECT current_setting('allocator_background_threads')"
            routing_allocator_seen.append(con.execute(setting).fetchall()[0][0])

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HEARTH_ROUTING_DUCKDB_MEMORY", ROUTING_LIMIT)
        mp.setattr(partnership_module, "connect", watched)
        routing = route(landing, root / "authorities", root / "routing.duckdb")
    whole = warehouse_of(landing, root / "whole.duckdb")
    each = {
        a: warehouse_of(root / "authorities" / a / "landing", root / f"{a}.duckdb")
        for a in routing.authorities
    }
    return routing, whole, each


def test_the_authorities_are_the_area_lookups(world, partnership):
    routing, _, each = partnership
    assert routing.authorities == read_authorities(world / "landing") == LA_CODES
    assert set(each) == set(LA_CODES)


def test_every_row_is_routed_or_counted(partnership):
    routing, whole, _ = partnership
    assert all(e.balanced and e.refused is None for e in routing.extracts)
    # what went nowhere holds what one warehouse could not link to anyone (and the rows its
    # ingest quarantined for want of any key)
    nowhere = sum(sum(e.not_routed.values()) for e in routing.extracts if e.source != "people")
    unknown = whole["linked"].filter(pl.col("link_status").is_in(["no_key", "unknown_pid"]))
    assert nowhere >= unknown.height > 0


def test_each_event_is_linked_as_one_warehouse_of_the_partnership_would(partnership):
    _, whole, each = partnership
    cols = ["source", "record_id", "household_pid", "link_status"]
    union = pl.concat([w["linked"].with_columns(authority=pl.lit(a)) for a, w in each.items()])
    assert union.select("source", "record_id").is_duplicated().sum() == 0  # each event once
    known = whole["linked"].filter(~pl.col("link_status").is_in(["no_key", "unknown_pid"]))
    assert union.select(cols).sort(cols).equals(known.select(cols).sort(cols))


def test_a_mover_between_authorities_leaves_each_event_in_the_right_household(world, partnership):
    """Every event of a person who moved from one authority to another is in the warehouse of
    the authority they lived in on its date, linked to the household the world says it was."""
    _, whole, each = partnership
    la_of = dict(whole["households"].iter_rows())
    stays = whole["residence"].filter(pl.col("household_pid").is_not_null())
    stays = stays.with_columns(la=pl.col("household_pid").replace_strict(la_of, default=None))
    movers = stays.group_by("person_pid").agg(pl.col("la").n_unique().alias("n"))
    movers = set(movers.filter(pl.col("n") > 1)["person_pid"])
    truth = pl.read_parquet(world / "_truth" / "record_links.parquet")
    theirs = truth.filter(pl.col("person_pid").is_in(list(movers)))
    theirs = theirs.with_columns(la=pl.col("household_pid").replace_strict(la_of, default=None))
    # movers with events in two authorities: the case the partnership step is for
    spread = theirs.group_by("person_pid").agg(pl.col("la").n_unique().alias("n"))
    assert spread.filter(pl.col("n") > 1).height >= 5
    found = pl.concat(
        [
            w["linked"].filter(pl.col("link_status").is_in(LINKED)).with_columns(held_by=pl.lit(a))
            for a, w in each.items()
        ]
    )
    joined = theirs.join(found, on=["source", "record_id"], how="left", suffix="_linked")
    assert joined.height == theirs.height > 50
    assert (joined["held_by"] == joined["la"]).all()
    assert (joined["household_pid_linked"] == joined["household_pid"]).all()


def test_a_move_closes_the_stay_in_the_authority_left(partnership):
    """Each authority knows who lived in its households, and until when, as one warehouse of the
    partnership does: a person who left for another authority is not counted there after."""
    _, whole, each = partnership
    cols = ["person_pid", "household_pid", "valid_from", "valid_to"]
    for authority, w in each.items():
        own = set(w["households"]["household_pid"])
        mine = w["residence"].filter(pl.col("household_pid").is_in(list(own))).select(cols)
        expected = whole["residence"].filter(pl.col("household_pid").is_in(list(own)))
        assert mine.sort(cols).equals(expected.select(cols).sort(cols)), authority


def test_each_authority_holds_only_its_own_households(partnership):
    _, whole, each = partnership
    for authority, w in each.items():
        assert w["addresses"]["la_code"].to_list() == [authority]
        assert set(w["households"]["la_code"]) == {authority}
        linked = w["linked"].filter(pl.col("link_status").is_in(LINKED))
        assert set(linked["household_pid"]) <= set(w["households"]["household_pid"])
    sizes = sorted(w["households"].height for w in each.values())
    assert sum(sizes) == whole["households"].height and sizes[0] > 0


def test_the_routing_holds_duckdb_to_its_own_limit(partnership, monkeypatch):
    """The routing's one connection ingests and links under the warehouse's
    HEARTH_DUCKDB_MEMORY (at 1,000,000 households the token linkage needs more than 2 GB and
    does not spill), then writes the authorities' extracts under HEARTH_ROUTING_DUCKDB_MEMORY,
    when the process holds each extract's frames too (issue 28: each process under 8 GB)."""
    with duckdb.connect() as con:
        con.execute("SET memory_limit = $limit", {"limit": ROUTING_LIMIT})
        expected = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        con.execute("SET memory_limit = $limit", {"limit": settings.duckdb_memory_limit()})
        warehouse = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    assert expected != warehouse
    assert routing_limits_seen == [warehouse, expected]  # when opened, when the writing ended
    # and it hands freed memory back (sql/linkage/route_session.sql): without it the routing
    # kept its largest query's memory under the frames that came after
    assert routing_allocator_seen == [True]
    monkeypatch.delenv("HEARTH_ROUTING_DUCKDB_MEMORY", raising=False)
    assert settings.routing_duckdb_memory_limit() == "2GB"  # as docs/operations.md says


def test_duckdb_is_handed_only_the_columns_a_routing_template_names():
    """Each extract's rows reach DuckDB as the keys, the date and the register's columns its
    routing template reads, never a token column: the person register's first month (the
    whole register, mostly tokens) was copied whole into Arrow for DuckDB, the routing's peak."""
    for source in SOURCES.values():
        template = source_sql(
            ROUTE_SQL.get(source.register_of or "", "linkage/route_events"), source
        )
        named = _named(template, ["_row", *source.columns])
        keys = {source.person_key, source.household_key, source.date_column, *source.key}
        keys |= (
            {f"{source.register_of}_pid", "household_pid", "la_code"}
            if source.register_of
            else set()
        )
        assert "_row" in named and set(named) - {"_row"} <= keys, source.name
        assert not set(named) & set(source.tokens), source.name
    people = SOURCES["people"]
    named = _named(source_sql(ROUTE_SQL["person"], people), ["_row", *people.columns])
    assert named == ["_row", "person_pid", "household_pid", "effective_date"]


def test_an_authority_code_that_is_not_one_names_no_value(tmp_path):
    folder = tmp_path / "reference"
    folder.mkdir()
    (folder / "areas.csv").write_text(
        "area_code,area_type,area_name\nE06000901,LA,Northmoor\n../../etc,LA,Elsewhere\n"
    )
    with pytest.raises(PartnershipError) as caught:
        read_authorities(tmp_path)
    assert "area_code" in str(caught.value) and "etc" not in str(caught.value)
    (folder / "areas.csv").write_text("area_code,area_type,area_name\nE05000001,WARD,Ashby\n")
    with pytest.raises(PartnershipError, match="no row of area_type LA"):
        read_authorities(tmp_path)
