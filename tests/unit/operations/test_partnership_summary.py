"""A partnership's authority runs in its own home only, and the routing refuses an authority
that is not in the lookup before any work (hearth/operations/partnership.py,
hearth/linkage/partnership.py). The job's summary: tests/assets/test_partnership_job.py."""

from __future__ import annotations

import pytest

from hearth.linkage.partnership import PartnershipError, route
from hearth.operations.partnership import authority_environment


def test_an_authority_runs_in_its_own_home_only(hearth_home, monkeypatch):
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(hearth_home / "elsewhere.duckdb"))
    monkeypatch.setenv("HEARTH_CLOCK", "2026-01-15")
    monkeypatch.setenv("HEARTH_EXECUTOR", "celery")  # the partnership's, not the authority's
    env = authority_environment("E06000903")
    assert env["HEARTH_HOME"] == str(hearth_home / "authorities" / "E06000903")
    assert "HEARTH_WAREHOUSE" not in env and "HEARTH_EXECUTOR" not in env
    assert env["HEARTH_CLOCK"] == "2026-01-15"
    with pytest.raises(ValueError, match="ONS code"):
        authority_environment("../E06000903")


def test_an_authority_not_in_the_lookup_is_refused_before_any_work(tmp_path):
    (tmp_path / "landing" / "reference").mkdir(parents=True)
    (tmp_path / "landing" / "reference" / "areas.csv").write_text(
        "area_code,area_type,area_name\nE06000901,LA,Northmoor\n"
    )
    with pytest.raises(PartnershipError, match="E06000999 is not an authority"):
        route(tmp_path / "landing", tmp_path / "a", tmp_path / "r.duckdb", only=["E06000999"])
    assert not (tmp_path / "a").exists() and not (tmp_path / "r.duckdb").exists()
