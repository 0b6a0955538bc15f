"""Links in the landing: one that points outside the landing is named, never read or hashed."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from hearth.ingest.landing import inventory
from hearth.ingest.safe_paths import LINK_OUTSIDE

MONTH = "2025-06"


def _landing(tmp_path: Path) -> tuple[Path, Path]:
    landing, secret = tmp_path / "landing", tmp_path / "elsewhere"
    (landing / "fire" / MONTH).mkdir(parents=True)
    secret.mkdir()
    pl.DataFrame({"a": ["1"]}).write_csv(landing / "fire" / MONTH / "fire.csv")
    (secret / "shared.key").write_bytes(b"not-a-real-key-0123456789abcdef")
    (secret / "2025-07").mkdir()
    (secret / "2025-07" / "health.csv").write_text("a\n1\n")
    return landing, secret


def test_links_to_outside_the_landing_are_named_not_read(tmp_path):
    landing, secret = _landing(tmp_path)
    (landing / "health" / MONTH).mkdir(parents=True)
    os.symlink(secret / "shared.key", landing / "health" / MONTH / "health.csv")  # a file
    os.symlink(secret / "2025-07", landing / "health" / "2025-07")  # a month folder
    os.symlink(secret, landing / "police")  # a whole source folder
    os.symlink(tmp_path / "nowhere.csv", landing / "fire" / MONTH / "fire_part2.csv")  # dangling
    inv = inventory(landing)
    read = {p for e in inv.extracts for p in e.paths}
    assert read == {landing / "fire" / MONTH / "fire.csv"}
    named = {u.path: u for u in inv.unread}
    for rel in (
        "health/2025-06/health.csv",
        "health/2025-07",
        "police",
        "fire/2025-06/fire_part2.csv",
    ):
        assert named[rel].why == LINK_OUTSIDE and named[rel].blocking, rel
        assert named[rel].sentence() == f"{rel}: not read; {LINK_OUTSIDE}"
        assert "not read; it is a link to outside the landing" in named[rel].sentence()
    assert named["police"].source == "police"
    assert not any(str(secret) in u.sentence() for u in inv.unread)  # the target is not named


def test_links_inside_the_landing_and_a_linked_root_are_read(tmp_path):
    landing, _ = _landing(tmp_path)
    (landing / "health" / MONTH).mkdir(parents=True)
    (landing / "_incoming").mkdir()
    (landing / "_incoming" / "h.csv").write_text("a\n1\n")
    os.symlink(landing / "_incoming" / "h.csv", landing / "health" / MONTH / "health.csv")
    root_link = tmp_path / "landing_link"
    os.symlink(landing, root_link)  # e.g. /data/landing -> /mnt/sftp/landing
    inv = inventory(root_link)
    names = {e.file_name for e in inv.extracts}
    assert names == {f"fire/{MONTH}/fire.csv", f"health/{MONTH}/health.csv"}
    assert not any(u.why == LINK_OUTSIDE for u in inv.unread)


def test_a_file_swapped_for_a_link_after_the_inventory_is_not_opened(tmp_path):
    """Between the inventory and the read, a landed file replaced by a link is refused by the
    read itself (O_NOFOLLOW), not followed."""
    from hearth.ingest.files import BatchProblem, read_extract
    from hearth.ingest.landing import Extract

    secret = tmp_path / "key.txt"
    secret.write_text("record_id\nnot for hearth\n")
    month = tmp_path / "landing" / "police" / "2025-12"
    month.mkdir(parents=True)
    path = month / "police_2025-12.csv"
    path.symlink_to(secret)
    with pytest.raises(BatchProblem, match="is a link, not a file; it was not read"):
        read_extract(Extract("police", "2025-12", path))
