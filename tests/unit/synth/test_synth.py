"""The synthetic world: determinism, layout, documented mess rates, and an exact truth."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from scipy.stats import rankdata

from hearth.sources import CODES, EVENT_SOURCES, SOURCES, landing_file_name
from hearth.synth import params as P
from hearth.synth import synthesise
from hearth.synth.events import generate_events, household_rates
from hearth.synth.ids import nhs_numbers
from hearth.synth.latent import (
    crisis_loading,
    eligibility,
    laplace_table,
    simulate_chains,
    z_nodes,
)
from hearth.synth.months import month_name, parse_month
from hearth.synth.truth import block_truth

MESS = 0.02
MOVE = 0.004
HEX64 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("world")
    calls: list[tuple[str, float]] = []
    summary = synthesise(
        root / "out",
        root / "truth",
        households=3000,
        seed=11,
        mess_rate=MESS,
        move_rate=MOVE,
        progress=lambda stage, fraction: calls.append((stage, fraction)),
    )
    return {"root": root, "summary": summary, "calls": calls}


def _read(path: Path):
    if path.suffix == ".parquet":
        return pq.read_table(path)
    opts = pcsv.ConvertOptions(
        column_types={c: "string" for c in _csv_cols(path)}, strings_can_be_null=True
    )
    return pcsv.read_csv(path, convert_options=opts)


def _csv_cols(path: Path) -> list[str]:
    return path.open().readline().strip().split(",")


def _all(world: dict, source: str) -> list[tuple[str, object]]:
    out = world["root"] / "out"
    s = world["summary"]
    months = range(parse_month(s.first_month), parse_month(s.last_month) + 1)
    return [
        (
            month_name(m),
            _read(out / source / month_name(m) / landing_file_name(source, month_name(m))),
        )
        for m in months
    ]


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_determinism(tmp_path: Path) -> None:
    def run(name: str, seed: int) -> dict[str, str]:
        synthesise(tmp_path / name / "out", tmp_path / name / "truth", 1500, seed, months=8)
        return _digests(tmp_path / name)

    a, b, c = run("a", 3), run("b", 3), run("c", 4)
    assert a == b
    # the extracts, the truth (households, world, record links) and the area names lookup
    assert len(a) == 6 * 8 + 3 + 1
    assert "out/reference/areas.csv" in a
    assert a.keys() == c.keys() and all(a[k] != c[k] for k in a)


def test_area_names_lookup_names_every_area_and_keeps_its_contract(world: dict) -> None:
    from hearth.publish.areas import area_lookup_file, read_area_lookup

    lookup = read_area_lookup(area_lookup_file(world["root"] / "out"))
    assert lookup.status == "used" and lookup.rows_not_used == {}
    assert lookup.rows_received == lookup.names.height
    names = {t: lookup.name_of(t) for t in ("LA", "WARD", "LSOA")}
    for _, table in _all(world, "addresses"):
        for col, level in (("la_code", "LA"), ("ward_code", "WARD"), ("lsoa_code", "LSOA")):
            assert set(table.column(col).drop_null().to_pylist()) <= set(names[level]), col
    for level in ("LA", "WARD"):  # names people can tell apart: one area, one name
        assert len(set(names[level].values())) == len(names[level]), level
    assert all(not n[:1].isdigit() and n.strip() == n for m in names.values() for n in m.values())


def test_layout_and_schema(world: dict) -> None:
    s = world["summary"]
    assert (s.first_month, s.last_month, s.months) == ("2023-01", "2025-12", 36)
    # a source that starts when first sent (interventions) comes only from a world that runs the
    # partnership's closed loop (hearth/synth/loop.py): every other source is in every month
    for source, spec in SOURCES.items():
        if spec.starts_when_sent:
            assert not (world["root"] / "out" / source).exists(), source
            continue
        total = 0
        for _, table in _all(world, source):
            assert tuple(table.column_names) == spec.base_columns
            total += table.num_rows
            for col in spec.base_columns:
                values = set(table.column(col).drop_null().to_pylist())
                if (source, col) in CODES:
                    assert values <= set(CODES[(source, col)]), (source, col)
                if col.endswith("_pid"):
                    assert all(HEX64.match(v) for v in values), (source, col)
                if col == spec.date_column:
                    assert table.column(col).null_count == 0
        assert total == s.rows[source]
    calls = world["calls"]
    assert calls[-1] == ("done", 1.0)
    assert all(a[1] <= b[1] for a, b in zip(calls, calls[1:], strict=False))


def test_no_raw_identifiers_and_no_truth_in_landing(world: dict) -> None:
    s = world["summary"]
    raw = {str(x) for x in nhs_numbers(s.persons + 100, 11)}
    runs = re.compile(rb"(?<![0-9])[0-9]{10,12}(?![0-9])")
    for path in (world["root"] / "out").rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        assert b"p_crisis" not in data and b"crisis_12m" not in data
        if path.suffix == ".csv":
            text = data
        else:
            table = pq.read_table(path)
            text = "\n".join(
                str(v) for c in table.columns for v in c.to_pylist() if v is not None
            ).encode()
        found = {m.decode() for m in runs.findall(text)}
        assert not found & raw, path
    # A whole-value NHS-number check (10 digits, valid modulus 11) finds nothing either.
    for source in EVENT_SOURCES:
        for _, table in _all(world, source):
            for c in table.column_names:
                vals = [v for v in table.column(c).drop_null().to_pylist() if isinstance(v, str)]
                assert not any(re.fullmatch(r"\d{10}", v) for v in vals)
    assert {p.name for p in (world["root"] / "truth").iterdir()} == {
        "households.parquet",
        "record_links.parquet",
        "world.json",
    }


def _sd(p: float, n: int) -> float:
    return float(np.sqrt(p * (1 - p) / max(n, 1)))


def test_documented_mess_rates(world: dict) -> None:
    for source in EVENT_SOURCES:
        rows = distinct = late = sc_household = 0
        miss = {"person": 0, "household": 0, "both": 0}
        for month, table in _all(world, source):
            rows += table.num_rows
            cols = table.column_names
            records = [
                dict(zip(cols, r, strict=True))
                for r in {tuple(r.values()) for r in table.to_pylist()}
            ]
            distinct += len(records)
            for r in records:
                late += str(r["event_date"])[:7] < month
                no_person = r.get("person_pid", "") is None
                no_household = r.get("household_pid", "") is None
                if source == "police" and no_person and no_household:
                    miss["both"] += 1
                elif source == "police":
                    miss["person"] += no_person
                    miss["household"] += no_household
                elif source == "fire":
                    miss["household"] += no_household
                else:
                    miss["person"] += no_person
                    sc_household += source == "social_care" and not no_household
        tol = 4 * _sd(MESS, distinct)
        assert abs((rows - distinct) / distinct - MESS) < tol, source  # exact duplicates
        assert abs(late / distinct - MESS) < tol + 0.002, source  # none late into month 1
        expected = {
            "police": ("person", "household", "both"),
            "fire": ("household",),
        }.get(source, ("person",))
        for what in expected:
            assert abs(miss[what] / distinct - MESS) < tol, (source, what)
        if source == "social_care":
            share, n = P.SOCIAL_CARE_HOUSEHOLD_SHARE, distinct - miss["person"]
            assert abs(sc_household / n - share) < 4 * _sd(share, n)


def test_register_changes(world: dict) -> None:
    info = json.loads((world["root"] / "truth" / "world.json").read_text())
    counts = info["counts"]
    seen: set[str] = set()
    moves = leaves = arrivals = 0
    for i, (_, t) in enumerate(_all(world, "people")):
        for r in t.to_pylist():
            if i and r["status"] == "LEFT_AREA":
                leaves += 1
                assert r["household_pid"] is None
            elif i and r["person_pid"] in seen:
                moves += 1
            elif i:
                arrivals += 1
            seen.add(r["person_pid"])
    assert (moves, leaves, arrivals) == (counts["moves"], counts["leaves"], counts["arrivals"])
    exposure = counts["departure_exposure"]
    # at most one departure per household per month trims the rate a little
    assert MOVE * 0.9 - 4 * _sd(MOVE, exposure) < moves / exposure < MOVE + 4 * _sd(MOVE, exposure)
    adds = _all(world, "addresses")
    assert adds[0][1].num_rows == world["summary"].households
    assert 0 < sum(t.num_rows for _, t in adds[1:]) < 0.01 * 3000 * 36


def _auc(score: np.ndarray, y: np.ndarray) -> float:
    r = rankdata(score)
    n1 = int(y.sum())
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * (y.size - n1)))


def test_truth_calibration_and_sharpness(world: dict) -> None:
    t = pq.read_table(world["root"] / "truth" / "households.parquet").to_pydict()
    p = np.array(t["p_crisis_12m"])
    pf = np.array(t["p_crisis_12m_full"])
    y = np.array(t["crisis_12m"])
    as_of = np.array(t["as_of"])
    assert sorted(set(as_of))[0] == "2023-02" and sorted(set(as_of))[-1] == "2026-01"
    assert p.size == 3000 * 36 and np.all((p > 0) & (p < 1)) and np.all((pf > 0) & (pf < 1))
    assert 0.03 <= y.mean() <= 0.07  # documented annual crisis rate
    # Each as-of month: mean p within binomial error of the crisis rate.
    for m in ("2024-01", "2025-01", "2026-01"):
        sel = as_of == m
        assert abs(p[sel].mean() - y[sel].mean()) < 4 * _sd(y[sel].mean(), int(sel.sum()))
    # Binned calibration over all months (rows of one household are correlated: n / 12).
    edges = np.quantile(p, [0, 0.5, 0.8, 0.95, 0.99, 1])
    bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, 4)
    for b in range(5):
        sel = bins == b
        ybar, pbar = y[sel].mean(), p[sel].mean()
        assert abs(ybar - pbar) < 4 * _sd(pbar, int(sel.sum()) // 12) + 0.01, (b, ybar, pbar)
    assert _auc(pf, y) > _auc(p, y) > 0.6


def test_laplace_table_against_simulation() -> None:
    phi = laplace_table()
    nodes, _ = z_nodes()
    a_k = crisis_loading()
    onset, rem, _ = P.chain_tables()
    rng = np.random.default_rng(0)
    k, q, j = P.VULN_INDEX["domestic_abuse"], 0, 7
    n = 200_000
    for s in (0, 1):
        v = np.full(n, bool(s))
        occ = np.zeros(n)
        for _ in range(12):
            u = rng.random(n)
            v = np.where(v, u >= rem[k, q], u < onset[k, q])
            occ += v
        mc = np.exp(-nodes[j] * a_k[k] * occ)
        assert abs(mc.mean() - phi[k, q, 1, j, s]) < 4 * mc.std() / np.sqrt(n) + 1e-12


def test_filter_against_direct_simulation() -> None:
    """Households of one class, simulated directly; those with the same observed history share
    one p, which must match their empirical crisis frequency."""
    n, n_land, mess = 60_000, 3, 0.1
    rng = np.random.default_rng(5)
    q = np.zeros(n, dtype=np.int64)
    has_child = np.ones(n, dtype=bool)
    has_old = np.ones(n, dtype=bool)
    elig = eligibility(has_child, has_old)
    nodes, _ = z_nodes()
    z_idx = rng.integers(0, nodes.size, n)
    bits = simulate_chains(rng, q, elig, n_land + 12)
    rates = household_rates(q, has_child, has_old)
    ev = generate_events(rng, rates, nodes[z_idx], bits, n_land, parse_month("2024-01"), mess)
    tr = block_truth(q, elig, z_idx, bits, rates, ev, n_land, mess, laplace_table())
    checked = 0
    for row in (n_land - 1, 0):  # as-of after three months (late thinning included) and one
        p, y = tr.p[row], tr.crisis[row]
        groups, inverse, sizes = np.unique(np.round(p, 12), return_inverse=True, return_counts=True)
        for g in np.flatnonzero(sizes >= 300):
            sel = inverse == g
            assert abs(y[sel].mean() - groups[g]) < 4 * _sd(groups[g], int(sel.sum())) + 1e-3
            checked += 1
        assert abs(y.mean() - p.mean()) < 4 * _sd(p.mean(), n)
        # the full-information probability is calibrated too
        pf = tr.p_full[row]
        assert abs(y.mean() - pf.mean()) < 4 * _sd(pf.mean(), n)
        top = pf > np.quantile(pf, 0.9)
        assert abs(y[top].mean() - pf[top].mean()) < 4 * _sd(pf[top].mean(), int(top.sum()))
    assert checked >= 2


def nhs_number_is_valid(number: int) -> bool:
    """The NHS number rule, written out here (not the generator's): weights 10 down to 2 on
    the first nine digits, 11 less the sum modulo 11 is the tenth (11 is 0, 10 is never)."""
    digits = [int(d) for d in f"{number:010d}"]
    check = 11 - sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    return check != 10 and (0 if check == 11 else check) == digits[9]


def test_the_nhs_rule_as_written_here_knows_valid_and_invalid_numbers() -> None:
    assert nhs_number_is_valid(9434765919)  # NHS Digital's published example
    assert not nhs_number_is_valid(9434765918) and not nhs_number_is_valid(9434765910)


def test_nhs_numbers_valid() -> None:
    x = nhs_numbers(5000, 1)
    assert np.unique(x).size == x.size
    assert np.all((x >= 10**9) & (x < 10**10))
    assert all(nhs_number_is_valid(int(n)) for n in x)
