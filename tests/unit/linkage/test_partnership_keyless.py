"""A partnership on the agencies' own identifiers (issues 25 and 28): police with no NHS number,
fire by address with UPRNs for a share, social care with NHS numbers for some. The records no
exact key places are routed by the partnership's own linkage of its whole landing (splink on
the keyed-hash tokens against the union of the authorities' person registers, then the
household that person lived in on the event's date), and each authority's own linkage of what
it received must find the same household, which the world's truth says is right."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from hearth.ingest.files import ROUTED_NONE
from hearth.linkage.partnership import route
from tests.support.partnership import warehouse_of

HOUSEHOLDS = 900  # about 300 an authority: fire has months with no row for one of them
MOVE_RATE = 0.02  # ten times the default, so a year holds movers between authorities with
# keyless records on both sides of their move
EXACT = ("linked_by_household_key", "linked_by_person_key")
# a token or a pseudonym: hex with both digits and letters (a plain count has no letters)
TOKEN = re.compile(r"\b(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b")
REASONS = {
    "no_key",
    "no_candidate",
    "uncertain_token_link",
    "unknown_pid",
    "no_household_at_date",
    "refused_by_contract",
    "outside_partnership",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from hearth.synth import synthesise

    root = tmp_path_factory.mktemp("keyless_world")
    synthesise(
        root / "landing",
        root / "truth",
        households=HOUSEHOLDS,
        seed=7,
        months=12,
        identifiers="agency",
        move_rate=MOVE_RATE,
        raw=tmp_path_factory.mktemp("keyless_raw") / "raw",
    )
    return root


@pytest.fixture(scope="module")
def partnership(world, tmp_path_factory):
    root = tmp_path_factory.mktemp("keyless_partnership")
    said: list[str] = []
    routing = route(
        world / "landing", root / "authorities", root / "routing.duckdb", say=said.append
    )
    # the partnership's choice: the same linkage over the same whole landing (link.link)
    whole = warehouse_of(world / "landing", root / "whole.duckdb")
    each = {
        a: warehouse_of(root / "authorities" / a / "landing", root / f"{a}.duckdb")
        for a in routing.authorities
    }
    truth = pl.read_parquet(world / "truth" / "record_links.parquet")
    return {
        **{"root": root, "routing": routing, "said": said},
        **{"whole": whole, "each": each, "truth": truth},
    }


def _held(each: dict[str, dict[str, pl.DataFrame]]) -> pl.DataFrame:
    return pl.concat(
        [w["linked"].with_columns(held_by=pl.lit(a)) for a, w in each.items()], how="vertical"
    )


def test_every_row_is_routed_or_counted_with_its_reason(partnership):
    routing = partnership["routing"]
    assert all(e.balanced and e.refused is None for e in routing.extracts)
    reasons = {r for e in routing.extracts for r in e.not_routed}
    assert reasons <= REASONS, reasons - REASONS
    police = [e for e in routing.extracts if e.source == "police"]
    received = sum(e.received for e in police)
    routed = sum(sum(e.routed.values()) for e in police)
    # police carry no NHS number: without the partnership's linkage none of them was routed
    assert received > 100 and routed >= 0.95 * received
    # the authorities between them hold every police event one warehouse of the whole would,
    # and police's own keys (a UPRN where the address matched one) placed only some of them
    whole = partnership["whole"]["linked"].filter(pl.col("source") == "police")
    held = _held(partnership["each"]).filter(pl.col("source") == "police")
    assert held.height == whole.height
    assert (whole["link_status"] == "linked_by_tokens").sum() > 50
    assert "linked_by_person_key" not in set(whole["link_status"])


def test_no_row_is_routed_twice_and_each_goes_to_its_households_authority(partnership):
    whole, each = partnership["whole"], partnership["each"]
    held = _held(each)
    assert held.select("source", "record_id").is_duplicated().sum() == 0
    la_of = dict(whole["households"].iter_rows())
    chosen = whole["linked"].filter(pl.col("household_pid").is_not_null())
    chosen = chosen.with_columns(la=pl.col("household_pid").replace_strict(la_of, default=None))
    joined = chosen.join(held, on=["source", "record_id"], how="left")
    assert joined.height == chosen.height
    assert joined["la"].null_count() == 0 and joined["held_by"].eq_missing(joined["la"]).all()


def test_each_authority_links_a_keyless_record_to_the_household_the_partnership_chose(
    partnership,
):
    """The partnership chose a household for every record it routed by tokens; the authority
    that received it, linking with its own model against its own register, chose the same."""
    whole, each = partnership["whole"], partnership["each"]
    chosen = whole["linked"].filter(pl.col("link_status") == "linked_by_tokens")
    assert chosen.height > 150 and set(chosen["source"]) >= {"police", "fire", "social_care"}
    held = _held(each)
    joined = chosen.join(held, on=["source", "record_id"], how="left", suffix="_there")
    assert joined["link_status_there"].eq_missing("linked_by_tokens").all()
    assert joined["household_pid_there"].eq_missing(joined["household_pid"]).all()
    # and, across the partnership, every event is linked as one warehouse of it would link it
    cols = ["source", "record_id", "household_pid", "link_status"]
    linked = whole["linked"].filter(pl.col("household_pid").is_not_null()).select(cols)
    there = held.filter(pl.col("household_pid").is_not_null()).select(cols)
    assert there.sort(cols).equals(linked.sort(cols))


def test_the_households_chosen_are_the_true_ones(partnership):
    held = _held(partnership["each"]).filter(pl.col("link_status") == "linked_by_tokens")
    truth = partnership["truth"].select("source", "record_id", "household_pid")
    joined = held.join(truth, on=["source", "record_id"], how="inner", suffix="_true")
    assert joined.height == held.height > 150
    right = (joined["household_pid"] == joined["household_pid_true"]).mean()
    assert right >= 0.99, right


def test_a_mover_between_authorities_has_each_keyless_record_where_they_lived(partnership):
    """People who moved from one authority to another mid-window: each of their records that no
    exact key placed, from before the move and after it, is in the authority they lived in on
    its date, in the true household."""
    whole, each, truth = partnership["whole"], partnership["each"], partnership["truth"]
    la_of = dict(whole["households"].iter_rows())
    stays = whole["residence"].filter(pl.col("household_pid").is_not_null())
    stays = stays.with_columns(la=pl.col("household_pid").replace_strict(la_of, default=None))
    first = (
        stays.sort("valid_from")
        .group_by("person_pid")
        .agg(pl.col("la").first().alias("first_la"), pl.col("la").n_unique().alias("authorities"))
    )
    movers = first.filter(pl.col("authorities") > 1)
    keyless = whole["linked"].filter(pl.col("link_status") == "linked_by_tokens")
    theirs = (
        truth.join(movers, on="person_pid")
        .join(keyless.select("source", "record_id"), on=["source", "record_id"])
        .with_columns(la=pl.col("household_pid").replace_strict(la_of, default=None))
    )
    moved = theirs["la"] != theirs["first_la"]
    assert moved.sum() >= 3 and (~moved).sum() >= 3  # records on both sides of a move
    found = theirs.join(_held(each), on=["source", "record_id"], how="left", suffix="_linked")
    assert found["la"].null_count() == found["household_pid"].null_count() == 0
    assert found["held_by"].eq_missing(found["la"]).all()
    assert found["household_pid_linked"].eq_missing(found["household_pid"]).all()


def test_an_authority_with_no_row_this_month_gets_a_header_only_file_it_accepts(partnership):
    routing, each, root = partnership["routing"], partnership["each"], partnership["root"]
    none = [
        (a, e.source, e.month)
        for e in routing.extracts
        for a in routing.authorities
        if e.received and e.routed.get(a) == 0
    ]
    assert none, "the world should leave an authority with no fire row in some month"
    for authority, source, month in none:
        (path,) = (root / "authorities" / authority / "landing" / source / month).iterdir()
        table = pq.read_table(path)
        assert table.num_rows == 0 and (table.schema.metadata or {}).get(ROUTED_NONE) == b"1"
        log = each[authority]["ingest_log"].filter(
            (pl.col("source") == source) & (pl.col("extract_month") == month)
        )
        assert log.rows() == [(source, month, 0, "loaded")]


def test_a_late_extract_stays_missing_not_header_only(world, tmp_path):
    """A source absent from the partnership's landing reaches no authority: each sees it missing
    (its run stops or is told to go on), never as 'nothing for you'."""
    landing = tmp_path / "landing"
    shutil.copytree(world / "landing", landing)
    late = max(p.name for p in (landing / "police").iterdir())
    shutil.rmtree(landing / "police" / late)
    routing = route(landing, tmp_path / "authorities", tmp_path / "routing.duckdb")
    assert not any(e.source == "police" and e.month == late for e in routing.extracts)
    for authority in routing.authorities:
        assert not (tmp_path / "authorities" / authority / "landing" / "police" / late).exists()
        assert (tmp_path / "authorities" / authority / "landing" / "health" / late).is_dir()
    assert not (tmp_path / "routing.duckdb").exists()


def test_no_token_leaves_the_routing_but_in_the_rows_routed(partnership):
    """What the routing says and keeps (its messages, routing.json's record) holds counts,
    reasons and authority codes, never a token or a pseudonym; its DuckDB file, where the
    partnership's tokens were linked, is gone."""
    said, routing, root = partnership["said"], partnership["routing"], partnership["root"]
    assert any("linking" in line for line in said)
    text = "\n".join(said) + json.dumps(routing.as_record()) + "\n".join(routing.sentences())
    assert not TOKEN.search(text)
    assert not list(root.glob("routing.duckdb*"))
