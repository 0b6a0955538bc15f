"""Re-identification's client lists: hashed as `hearth pseudonymise` hashes (forms made one,
mangled numbers refused with counts), two roles' outputs apart, and the count behind "this looks
like the wrong key" (sql/publish/client_known.sql) on a tiny warehouse."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from hearth.privacy.pseudonymise import hmac_hex
from hearth.privacy.reidentify import ReidentifyError, _client_pids, _read_clients, default_out
from hearth.warehouse import connect, query
from tests.support.tiny_warehouse import add_household, relink

KEY = b"test-key-NOT-REAL-5e1d0c9b8a7f6e5d"
OTHER_KEY = b"another-test-key-0123456789abcdef"
UPRNS = ["100012345678", "100012345679"]


def test_two_roles_default_outputs_do_not_overwrite_each_other():
    clients = Path("/agency/clients.csv")
    health, police = (
        default_out(clients, "2026-01", "health"),
        default_out(clients, "2026-01", "police"),
    )
    assert health != police
    assert health == Path("/agency/clients_hearth_health_2026-01.csv")


def test_client_list_forms_give_the_extracts_pseudonyms(tmp_path):
    path = tmp_path / "clients.parquet"
    pl.DataFrame({"uprn": [float(UPRNS[0]), None, float(UPRNS[1])]}).write_parquet(path)
    ids = _read_clients(path, "uprn")
    assert _client_pids(KEY, ids, str(path)).to_list() == [
        hmac_hex(KEY, [UPRNS[0]])[0],
        None,
        hmac_hex(KEY, [UPRNS[1]])[0],
    ]
    csv = tmp_path / "clients.csv"
    csv.write_text("nhs_number\n943-476-5919\n9434765919.0\n")
    pids = _client_pids(KEY, _read_clients(csv, "nhs_number"), str(csv)).to_list()
    assert pids == hmac_hex(KEY, ["9434765919"]) * 2


def test_a_client_list_in_scientific_notation_is_refused_with_a_count(tmp_path):
    csv = tmp_path / "clients.csv"
    csv.write_text(f"uprn\n1.00012E+11\n{UPRNS[0]}\n")
    with pytest.raises(ReidentifyError, match=r"1 of 2 values are a number in scientific") as e:
        _client_pids(KEY, _read_clients(csv, "uprn"), str(csv))
    assert UPRNS[0] not in str(e.value)


def _known(con, pids: list[str | None], persons: bool) -> int:
    frame = pl.DataFrame({"client_row": range(len(pids)), "client_pid": pids})
    con.register("client_pids", frame.to_arrow())
    try:
        return query(con, "publish/client_known", {"persons": persons}).fetchall()[0][0]
    finally:
        con.unregister("client_pids")


def test_client_known_counts_the_list_s_pseudonyms_hearth_holds(tmp_path):
    households = hmac_hex(KEY, UPRNS)
    with connect(tmp_path / "warehouse.duckdb") as con:
        for h in households:
            add_household(con, h)  # its resident's pseudonym is "person of <household>"
        relink(con)
        right = [*households, "0" * 64]
        assert _known(con, right, persons=False) == 2
        wrong = hmac_hex(OTHER_KEY, UPRNS)  # the same UPRNs hashed with another key
        assert _known(con, wrong, persons=True) == 0
        person = [f"person of {households[0]}"]
        assert _known(con, person, persons=True) == 1
        assert _known(con, person, persons=False) == 0  # a role that may not match people
