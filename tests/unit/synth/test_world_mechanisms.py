"""The world that does not flatter the model (issue 27): today's world unchanged byte for byte,
each mechanism behind its own switch and visible in the extracts, and the truth still exact."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from hearth.sources import landing_file_name
from hearth.synth import params as P
from hearth.synth import synthesise
from hearth.synth.events import generate_events, household_rates
from hearth.synth.latent import eligibility, laplace_by_month, laplace_table, simulate_chains
from hearth.synth.mechanisms import World, resolve, today
from hearth.synth.months import month_name, parse_month
from hearth.synth.truth import block_truth
from tests.support.world_fingerprint import assert_same_world

# sha256 over (relative path, sha256 of the file) of out/, and a fingerprint of truth/ (its
# probabilities' last bits differ between CPUs: tests/support/world_fingerprint.py), computed
# from main (8f08d27, before the mechanisms existed): today's world must not move.
# households=1500, seed=5, months=12, mess_rate=0.02, move_rate=0.004
MAIN_SMALL_OUT = "823486e20f7cde88570f501b350cf28757e575dd9e277540960fde3ecc13bb7d"
MAIN_SMALL_TRUTH = Path(__file__).with_name("main_small_truth.json")


def _tree_digest(root: Path) -> str:
    """Of every file but the record links (issue 25), which main's truth did not have."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != "record_links.parquet":
            rel = str(p.relative_to(root)).encode()
            h.update(rel + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def _sd(p: float, n: int) -> float:
    return float(np.sqrt(max(p * (1 - p), 1e-12) / max(n, 1)))


def test_default_world_is_mains_byte_for_byte(tmp_path: Path) -> None:
    for name, world in (("none", None), ("explicit", P.WorldParams())):
        root = tmp_path / name
        synthesise(root / "out", root / "truth", 1500, 5, 12, mess_rate=0.02, move_rate=0.004,
                   world=world)  # fmt: skip
        assert _tree_digest(root / "out") == MAIN_SMALL_OUT, name
        assert_same_world(
            root / "truth", MAIN_SMALL_TRUTH, skip=frozenset({"record_links.parquet"})
        )
        assert "mechanisms" not in json.loads((root / "truth" / "world.json").read_text())


def _file_digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def small_worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Today's world and each mechanism alone, 600 households over 12 months, one seed."""
    root = tmp_path_factory.mktemp("mechanisms")
    out = {}
    for name in ("today", *P.MECHANISMS):
        wp = None if name == "today" else P.world_params([name])
        synthesise(root / name / "out", root / name / "truth", 600, 21, 12, world=wp)
        out[name] = root / name
    return out


def test_each_mechanism_changes_only_what_it_should(small_worlds: dict[str, Path]) -> None:
    base = _file_digests(small_worlds["today"] / "out")
    for name in P.MECHANISMS:
        got = _file_digests(small_worlds[name] / "out")
        assert got.keys() == base.keys()
        # The address register and the area names carry no risk information and have streams of
        # their own. (The person register's moves share a stream with choosing whom each record
        # is about, so they move with the records, as they always have between seeds.)
        fixed = [k for k in base if k.startswith(("addresses/", "reference/"))]
        events = [k for k in base if not k.startswith(("addresses/", "people/", "reference/"))]
        assert all(got[k] == base[k] for k in fixed), name
        truth = _file_digests(small_worlds[name] / "truth")["households.parquet"]
        assert truth != _file_digests(small_worlds["today"] / "truth")["households.parquet"]
        if name != "rising_prevalence":  # a rise in onset may flip no chain in 600 households
            assert any(got[k] != base[k] for k in events), name
        world = json.loads((small_worlds[name] / "truth" / "world.json").read_text())
        assert world["mechanisms"]["on"] == [name]


def test_mechanism_draws_are_per_seed_and_within_bounds() -> None:
    wp = P.REALISTIC
    a, b, c = (resolve(wp, s, 3, 40, parse_month("2023-01"), 36, 48) for s in (1, 1, 2))
    assert a.drawn == b.drawn and a.drawn != c.drawn
    table = a.drawn["table"]
    assert len(table) == len(P.KEYS)
    retied = sum(r["was"] is not None and r["now"] != r["was"] for r in table)
    protective = sum(r["now"] is not None and r["lam1"] < r["lam0"] for r in table)
    assert retied >= 1 and protective >= 1  # for this seed; the shares are drawn
    for key, new in zip(P.KEYS, a.keys, strict=True):
        assert (key.source, key.event_type, key.attrs, key.crisis) == (
            new.source,
            new.event_type,
            new.attrs,
            new.crisis,
        )
        if key.crisis:
            assert new.vuln == key.vuln
            assert wp.crisis_strength[0] * key.a <= new.a <= wp.crisis_strength[1] * key.a
        elif key.vuln is not None and new.lam1 > new.lam0:
            # strengthened never: log ratio scaled by at most strength[1] = 1
            assert np.log(new.lam1 / new.lam0) <= np.log(key.lam1 / key.lam0) * wp.strength[1]
        elif key.vuln is None and new.vuln is not None:
            lo, hi = wp.background_strength
            assert lo - 1e-12 <= abs(np.log(new.lam1 / new.lam0)) <= hi + 1e-12
    # co-occurrence: the nodes are (z, u) pairs whose weights sum to one
    assert a.z.size == 8 * wp.factor_nodes and abs(a.weight.sum() - 1) < 1e-12
    assert abs(float((a.u * a.weight).sum())) < 1e-12  # the factor has mean 0
    assert len(a.drawn["recording_changes"]) == wp.recording_changes


def _monthly_rows(root: Path, source: str, months: list[str]) -> np.ndarray:
    out = []
    for m in months:
        path = root / "out" / source / m / landing_file_name(source, m)
        if path.suffix == ".parquet":
            out.append(pq.ParquetFile(path).metadata.num_rows)
        else:
            out.append(pcsv.read_csv(path).num_rows)
    return np.array(out, dtype=float)


def test_seasonality_shows_in_the_extracts(tmp_path: Path) -> None:
    """Health records peak in January: over two years, January's rows against July's are
    (1 + s) / (1 - s) times today's, within sampling error."""
    months = [month_name(parse_month("2024-01") + i) for i in range(24)]
    counts = {}
    for name, wp in (("today", None), ("season", replace(P.WorldParams(), seasonality=0.5))):
        synthesise(tmp_path / name / "out", tmp_path / name / "truth", 1500, 3, 24,
                   end="2025-12", world=wp)  # fmt: skip
        counts[name] = _monthly_rows(tmp_path / name, "health", months)
    jan = [0, 12]
    jul = [6, 18]
    ratio = counts["season"][jan].sum() / counts["season"][jul].sum()
    assert ratio > 2.2, ratio  # (1 + 0.5) / (1 - 0.5) = 3 for every key; today about 1
    today_ratio = counts["today"][jan].sum() / counts["today"][jul].sum()
    assert 0.85 < today_ratio < 1.15, today_ratio


def test_a_recording_change_shows_in_its_authority() -> None:
    """A coverage change in one authority moves that authority's records by its factor from
    its month on, and no other authority's."""
    first = parse_month("2024-01")
    wp = replace(P.WorldParams(), recording_changes=1, change_down=(0.4, 0.4), change_up=(3, 3))
    world = resolve(wp, 4, 3, 1, first, 12, 24)
    ch = world.drawn["recording_changes"][0]
    la_hit = P.LA_CODES.index(ch["authority"])
    rng = np.random.default_rng(0)
    n = 30_000
    q = rng.integers(0, 5, n)
    la = rng.integers(0, 3, n)
    elig = eligibility(np.ones(n, bool), np.ones(n, bool))
    bits = simulate_chains(rng, q, elig, 24, world)
    rates = household_rates(q, np.ones(n, bool), np.ones(n, bool), world.keys)
    ev = generate_events(rng, rates, np.ones(n), bits, 12, first, 0.0, world, la)
    hit_keys = np.flatnonzero(world.time_mult[la_hit, :, -1] != 1.0)
    assert hit_keys.size >= 1
    sel = np.isin(ev.key, hit_keys) & (ev.t < 12)
    start = ch["from_month_index"]
    for a in range(3):
        mine = sel & (la[ev.h] == a)
        before = (mine & (ev.t < start)).sum() / start
        after = (mine & (ev.t >= start)).sum() / (12 - start)
        expect = ch["factor"] if a == la_hit else 1.0
        assert abs(after / before - expect) < 0.15 * expect, (a, after / before, expect)


def test_laplace_by_month_matches_the_static_table_and_simulation() -> None:
    first = parse_month("2024-01")
    # A world without drift: one table per month equals the static table.
    co = resolve(replace(P.WorldParams(), cooccurrence=0.8), 3, 3, 1, first, 6, 18)
    assert not co.time_varying
    static = laplace_table(world=co)
    by_month = laplace_by_month(co, 6)
    assert np.max(np.abs(by_month - static[None])) < 1e-12
    # Today's world through the generalised path: today's table exactly.
    assert np.array_equal(laplace_table(world=today()), laplace_table())
    # Rising onset and seasonal crises: Monte Carlo of one chain's window.
    wp = replace(P.WorldParams(), cooccurrence=0.8, rising_prevalence=3.0, seasonality=0.6)
    w = resolve(wp, 3, 3, 1, first, 6, 18)
    k = P.VULN_INDEX[w.drawn["rising_prevalence"]["problem"]]
    phi = laplace_by_month(w, 6)
    a_k = w.crisis_loading()
    rng = np.random.default_rng(1)
    n, q, g, t = 200_000, 0, w.z.size - 1, 4  # the frailest node, as of month t + 1
    lg = g % w.n_u
    for s in (0, 1):
        v = np.full(n, bool(s))
        log_surv = np.zeros(n)
        for m in range(t + 1, t + 13):
            u = rng.random(n)
            v = np.where(v, u >= w.rem[k, q], u < w.onset[k, q, lg, m - 1])
            log_surv -= w.z[g] * a_k[k] * w.crisis_season[m] * v
        mc = np.exp(log_surv)
        assert abs(mc.mean() - phi[t, k, q, 1, g, s]) < 4 * mc.std() / np.sqrt(n) + 1e-12


def _block(world: World, n: int, n_land: int, mess: float, seed: int, one_class: bool, la: int = 0):
    """One block simulated directly, as world.py does it, and its truth."""
    rng = np.random.default_rng(seed)
    if one_class:
        q = np.zeros(n, dtype=np.int64)
        ward = np.full(n, la, dtype=np.int64)
        la = np.full(n, la, dtype=np.int64)
        has_child = np.ones(n, dtype=bool)
        has_old = np.ones(n, dtype=bool)
    else:
        q = rng.integers(0, 5, n)
        la = rng.integers(0, 3, n)
        ward = la * 4 + rng.integers(0, 4, n)
        has_child = rng.random(n) < 0.3
        has_old = rng.random(n) < 0.25
    elig = eligibility(has_child, has_old)
    n_z = world.z.size // world.n_u
    z_idx = rng.integers(0, n_z, n)
    u_idx = rng.integers(0, world.n_u, n)
    node = z_idx * world.n_u + u_idx
    bits = simulate_chains(rng, q, elig, n_land + 12, world, u_idx)
    rates = household_rates(q, has_child, has_old, world.keys, world.area_mult(la, ward))
    first = parse_month("2024-01")
    ev = generate_events(rng, rates, world.z[node], bits, n_land, first, mess, world, la)
    phi = laplace_by_month(world, n_land) if world.time_varying else laplace_table(world=world)
    return block_truth(q, elig, node, bits, rates, ev, n_land, mess, phi, world, la)


def test_truth_exact_under_every_mechanism() -> None:
    """Households of one class in a world with every mechanism on (the recording change and
    the rising problem inside the three months): those with the same observed history share one
    p, which must match their empirical crisis frequency."""
    n_land, mess = 3, 0.1
    wp = replace(
        P.REALISTIC,
        rising_prevalence=4.0,
        seasonality=0.8,
        area_recording_sd=0.5,
        recording_changes=1,
        change_up=(5.0, 5.0),
        change_down=(5.0, 5.0),
    )
    # The first seed whose change is health's whole coverage, from the second month: strong
    # enough that a filter that ignored it would be found out.
    for seed in range(200):
        world = resolve(wp, seed, 3, 12, parse_month("2024-01"), n_land, n_land + 12)
        ch = world.drawn["recording_changes"][0]
        if ch["what"] == "coverage" and ch["source"] == "health" and ch["from_month_index"] == 1:
            break
    assert world.time_varying and world.n_u > 1
    tr = _block(
        world, 60_000, n_land, mess, 5, one_class=True, la=P.LA_CODES.index(ch["authority"])
    )
    checked = 0
    for row in (n_land - 1, 0):
        p, y = tr.p[row], tr.crisis[row]
        groups, inverse, sizes = np.unique(np.round(p, 12), return_inverse=True, return_counts=True)
        for g in np.flatnonzero(sizes >= 300):
            sel = inverse == g
            assert abs(y[sel].mean() - groups[g]) < 4 * _sd(groups[g], int(sel.sum())) + 1e-3
            checked += 1
        assert abs(y.mean() - p.mean()) < 4 * _sd(p.mean(), p.size)
        pf = tr.p_full[row]
        top = pf > np.quantile(pf, 0.9)
        assert abs(y[top].mean() - pf[top].mean()) < 4 * _sd(pf[top].mean(), int(top.sum()))
    assert checked >= 2


def test_truth_calibrated_by_tenth_on_a_larger_realistic_world() -> None:
    """20,000 households of every kind in the realistic world over 14 months: at the last as-of
    month (one row per household, so independent), each tenth of p_crisis_12m has a crisis rate
    within sampling error of its mean p."""
    n_land = 14
    world = resolve(P.REALISTIC, 12, 3, 12, parse_month("2024-01"), n_land, n_land + 12)
    tr = _block(world, 20_000, n_land, 0.01, 9, one_class=False)
    p, y = tr.p[-1], tr.crisis[-1]
    edges = np.quantile(p, np.linspace(0, 1, 11))
    tenth = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, 9)
    z2 = []
    for d in range(10):
        sel = tenth == d
        pbar, ybar = p[sel].mean(), y[sel].mean()
        sd = float(np.sqrt((p[sel] * (1 - p[sel])).sum()) / sel.sum())
        assert abs(ybar - pbar) < 4 * sd, (d, ybar, pbar)
        z2.append(((ybar - pbar) / sd) ** 2)
    assert sum(z2) < 29.6  # chi-square, 10 degrees of freedom, p = 0.001
    assert p[tenth == 9].mean() > 4 * p[tenth == 0].mean()  # and it ranks


def test_hearth_synth_realistic_and_one_mechanism(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hearth.cli.app import app

    def synth(name: str, *flags: str) -> dict:
        out, truth = tmp_path / name / "out", tmp_path / name / "truth"
        args = ["synth", "--out", str(out), "--truth", str(truth), "--households", "300"]
        result = CliRunner().invoke(app, [*args, "--months", "4", *flags])
        assert result.exit_code == 0, result.output
        return json.loads((truth / "world.json").read_text())

    assert synth("realistic", "--realistic")["mechanisms"]["on"] == P.REALISTIC.active()
    assert len(P.REALISTIC.active()) == len(P.MECHANISMS)  # the preset turns every one on
    one = synth("one", "--mechanism", "cooccurrence")["mechanisms"]
    assert one["on"] == ["cooccurrence"] and one["params"]["cooccurrence"] == 0.8
    assert "mechanisms" not in synth("today")
