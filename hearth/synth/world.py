"""`synthesise`: the whole synthetic world, landing tree and truth (docs/synthetic-world.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from hearth.sources import EVENT_SOURCES
from hearth.synth import params as P
from hearth.synth.agency import Written, agency_world, check_identifiers, write_record_links
from hearth.synth.dynamics import LEAVE, ROLE_CODE, Population
from hearth.synth.events import BlockEvents, generate_events, household_rates
from hearth.synth.extracts import write_addresses, write_events, write_people
from hearth.synth.ids import nhs_numbers, pseudonyms, synthetic_key, uprns
from hearth.synth.latent import eligibility, laplace_by_month, laplace_table, simulate_chains
from hearth.synth.loop import Partnership
from hearth.synth.mechanisms import World, resolve
from hearth.synth.months import month_name, parse_month, random_day_in_month
from hearth.synth.places import write_area_names
from hearth.synth.population import Areas, Households, make_areas, make_households
from hearth.synth.truth import block_truth, write_households_truth

# Independent random streams: (seed, stream[, block]). 6: mechanisms.py's draws, 7: each block's
# household factor, 8: loop.py's partnership, 10 and 11: agency.py's identifiers. Today's
# streams never move.
_AREAS, _HOUSEHOLDS, _BLOCK, _PEOPLE, _ADDRESSES, _FACTOR = 1, 2, 3, 4, 5, 7
_KEY_ROLE = np.array([ROLE_CODE[k.role] for k in P.KEYS])
_KEY_SOURCE = np.array([EVENT_SOURCES.index(k.source) for k in P.KEYS])


@dataclass
class SynthSummary:
    out: Path
    truth: Path
    households: int
    persons: int  # everyone ever on the person register
    months: int
    first_month: str
    last_month: str
    rows: dict[str, int] = field(default_factory=dict)  # rows written per source, all months
    truth_rows: int = 0
    crisis_rate: float = 0.0  # mean crisis_12m over households and as-of months


def synthesise(
    out: Path,
    truth: Path,
    households: int = 5000,
    seed: int = 7,
    months: int = 36,
    end: str = "2025-12",
    mess_rate: float = 0.01,
    move_rate: float = 0.002,
    progress: Callable[[str, float], None] | None = None,
    world: P.WorldParams | None = None,
    identifiers: str = "shared",
    raw: Path | None = None,
    partnership: Partnership | None = None,
) -> SynthSummary:
    """Write a landing tree under `out` and the truth under `truth`; same arguments, same bytes.
    `world` switches on the mechanisms of a less flattering world (`params.REALISTIC` all of
    them); None or `WorldParams()` is today's world.
    `identifiers`: "shared" (every agency holds NHS numbers and UPRNs) or "agency" (the keys
    real ones hold, and raw extracts under `raw` made into the landing: hearth/synth/agency.py);
    the households, people, events and truth are the same under both.
    `partnership` (hearth/synth/loop.py) closes the loop: before each month from its start it
    is given Hearth's list as of that month, visits, and the visited households' crises fall;
    `_truth/households.parquet` still holds the risk and crises without any visit."""
    check_identifiers(identifiers, out, raw)
    if partnership is not None and identifiers != "shared":
        raise ValueError(
            "The closed loop needs the shared-key world: Hearth reads each month's landing as "
            "it is written, and the agency-identifier landing is made after the last month."
        )
    if households < 2 or months < 2:
        raise ValueError("need at least 2 households and 2 months")
    if not (0.0 <= mess_rate < 1.0 / 3.0) or not (0.0 <= move_rate < 0.5):
        raise ValueError("mess_rate must be in [0, 1/3) and move_rate in [0, 0.5)")
    wp = world or P.WorldParams()
    wp.check()
    report = progress or (lambda stage, fraction: None)
    out, truth = Path(out), Path(truth)
    last = parse_month(end)
    first = last - months + 1
    horizon = months + 12  # simulate a year past `end` for the outcomes

    report("areas and households", 0.0)
    areas = make_areas(np.random.default_rng([seed, _AREAS]), households)
    hh, people = make_households(
        np.random.default_rng([seed, _HOUSEHOLDS]), areas, households, first
    )

    resolved = resolve(wp, seed, len(P.LA_CODES), len(areas.ward_codes), first, months, horizon)
    events, tr = _simulate_blocks(
        hh, areas, resolved, seed, months, horizon, first, mess_rate, report
    )

    report("pseudonymising identifiers", 0.55)
    key = synthetic_key(seed)
    hh_pids = pa.array(pseudonyms(key, uprns(households, seed)), pa.string())
    pop = Population.start(people, hh, areas)
    expected = people.household.size * (1.0 + 2.0 * move_rate * months) + 1000
    pool = nhs_numbers(int(expected), seed)
    person_pids = pa.chunked_array([pseudonyms(key, pool[: pop.n_persons])], pa.string())

    rows = {s: 0 for s in (*P.RECORD_ID_PREFIX, "addresses", "people")}
    rng_people = np.random.default_rng([seed, _PEOPLE])
    rng_addr = np.random.default_rng([seed, _ADDRESSES])
    tenure, ptype = hh.tenure.copy(), hh.ptype.copy()
    written = Written()  # each file's rows, to rebuild it as the agency's raw extract
    origin = pop.hh_of.copy()  # each person's first household
    ev_person = np.full(events.t.size, -1, dtype=np.int64)
    ev_source = _KEY_SOURCE[events.key]
    # record numbers count each source's records in record-id order, from 1
    ev_number = np.zeros(events.t.size, dtype=np.int64)
    for s in range(len(EVENT_SOURCES)):
        sel = ev_source == s
        ev_number[sel] = np.arange(1, int(sel.sum()) + 1)
    by_month = np.searchsorted(events.t, np.arange(months + 1))  # events are sorted by month
    if partnership is not None:
        ev_crisis = resolved.key_crisis[events.key.astype(np.int64)]
        partnership.bind(seed, first, months, events.t, events.h, ev_crisis, hh_pids)
        write_area_names(out, areas)  # Hearth reads the landing while it is being written
    for t in range(months):
        m = first + t
        name = month_name(m)
        report(f"writing {name}", 0.6 + 0.35 * t / months)
        if partnership is not None:  # the list as of this month; its visits thin later crises
            partnership.month(t, out)
        if t == 0:
            stable = np.flatnonzero(pop.hh_of >= 0)
            rows["addresses"] += write_addresses(
                out,
                name,
                hh,
                areas,
                hh_pids,
                np.arange(households),
                tenure,
                ptype,
                hh.updated_day,
            )
            rows["people"] += write_people(
                out,
                name,
                pop,
                person_pids,
                hh_pids,
                np.arange(pop.n_persons),
                pop.hh_of,
                np.zeros(pop.n_persons, dtype=np.int64),
                people.effective_day,
            )
            written.people.append((name, np.arange(pop.n_persons), pop.hh_of.copy()))
        else:
            stable, ch = pop.step(rng_people, m, move_rate)
            origin = np.concatenate([origin, pop.hh_of[origin.size :]])
            if pop.n_persons > pool.size:  # more arrivals than the pool allows: extend it
                pool = nhs_numbers(2 * pop.n_persons, seed)
            old = sum(len(c) for c in person_pids.chunks)
            new = pa.array(pseudonyms(key, pool[old : pop.n_persons]), pa.string())
            person_pids = pa.chunked_array([*person_pids.chunks, new])
            rows["people"] += write_people(
                out,
                name,
                pop,
                person_pids,
                hh_pids,
                ch.person,
                ch.household,
                (ch.kind == LEAVE).astype(np.int64),
                ch.day,
            )
            written.people.append((name, ch.person, ch.household))
            changed, tenure, ptype = _address_changes(rng_addr, tenure, ptype, hh)
            day = random_day_in_month(rng_addr, np.full(changed.size, m))
            order = np.lexsort((changed, day))
            rows["addresses"] += write_addresses(
                out, name, hh, areas, hh_pids, changed[order], tenure, ptype, day[order]
            )
        sel = np.arange(by_month[t], by_month[t + 1])
        ev_person[sel] = pop.assign(
            rng_people, stable, events.h[sel], _KEY_ROLE[events.key[sel]], m // 12
        )
        for s, source in enumerate(EVENT_SOURCES):
            lo = by_month[max(t - 1, 0)]
            cand = np.arange(lo, by_month[t + 1])
            ct, cl = events.t[cand], events.late[cand]
            keep = (ev_source[cand] == s) & (((ct == t) & ~cl) | ((ct == t - 1) & cl))
            idx = cand[keep]
            if partnership is not None:  # crises the visits prevented never happened
                idx = idx[~partnership.prevented[idx]]
            idx = np.repeat(idx, 1 + events.dup[idx])
            written.events.append((source, name, idx))
            rows[source] += write_events(
                out, source, name, events, idx, ev_person, ev_number, person_pids, hh_pids
            )

    write_area_names(out, areas)  # the names lookup a council lands from the ONS names
    report("writing truth", 0.95)
    truth_rows = write_households_truth(truth, hh_pids, first, tr)
    links = write_record_links(
        truth, written, events.h, ev_person, ev_number, events.day, hh_pids, person_pids
    )
    parts = (areas, hh, pop, origin, events, ev_person, pool, key, last, report)
    ident_counts = (
        agency_world(out, raw, seed, written, *parts) if identifiers == "agency" else None
    )
    loop = None
    if partnership is not None:
        loop = partnership.write_truth(truth, ev_number, ev_source, events.day)
    crisis_rate = float(tr[2].mean())
    summary = SynthSummary(
        out,
        truth,
        households,
        pop.n_persons,
        months,
        month_name(first),
        month_name(last),
        rows,
        truth_rows,
        crisis_rate,
    )
    _write_world(
        truth, summary, seed, end, mess_rate, move_rate, pop, resolved, links, ident_counts, loop
    )
    report("done", 1.0)
    return summary


def _simulate_blocks(
    hh: Households,
    areas: Areas,
    world: World,
    seed: int,
    months: int,
    horizon: int,
    first: int,
    mess_rate: float,
    report: Callable[[str, float], None],
) -> tuple[BlockEvents, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Hidden state, records and truth, one block of households at a time."""
    n_z = world.z.size // world.n_u
    z_of_node = world.z
    phi = laplace_by_month(world, months) if world.time_varying else laplace_table(world=world)
    ward_all = areas.lsoa_ward[hh.lsoa]
    la_all = areas.ward_la[ward_all]
    n = hh.n
    p = np.empty((months, n))
    p_full = np.empty((months, n))
    crisis = np.empty((months, n), dtype=bool)
    q_all = hh.q
    parts: list[BlockEvents] = []
    for b, lo in enumerate(range(0, n, P.BLOCK)):
        hi = min(lo + P.BLOCK, n)
        report(f"simulating households {lo:,}-{hi:,} of {n:,}", 0.05 + 0.5 * lo / n)
        rng = np.random.default_rng([seed, _BLOCK, b])
        q = q_all[lo:hi]
        has_child, has_old = hh.has_child[lo:hi], hh.has_old[lo:hi]
        elig = eligibility(has_child, has_old)
        la, ward = la_all[lo:hi], ward_all[lo:hi]
        z_idx = rng.integers(0, n_z, size=hi - lo)
        u_idx = None
        if world.n_u > 1:  # the household factor, from its own stream
            u_idx = np.random.default_rng([seed, _FACTOR, b]).integers(0, world.n_u, hi - lo)
        node = z_idx if u_idx is None else z_idx * world.n_u + u_idx
        bits = simulate_chains(rng, q, elig, horizon, world, u_idx)
        area = world.area_mult(la, ward)
        rates = household_rates(q, has_child, has_old, world.keys, area)
        z = z_of_node[node]
        ev = generate_events(rng, rates, z, bits, months, first, mess_rate, world, la)
        bt = block_truth(q, elig, node, bits, rates, ev, months, mess_rate, phi, world, la)
        p[:, lo:hi], p_full[:, lo:hi], crisis[:, lo:hi] = bt.p, bt.p_full, bt.crisis
        keep = ev.t < months
        landed = {f: v[keep] for f, v in asdict(ev).items()}
        landed["h"] = landed["h"] + lo
        parts.append(BlockEvents(**landed))
    cat = {f: np.concatenate([getattr(e, f) for e in parts]) for f in asdict(parts[0])}
    order = np.lexsort((cat["key"], cat["h"], cat["day"], cat["t"]))  # record-id order
    return BlockEvents(**{f: v[order] for f, v in cat.items()}), (p, p_full, crisis)


def _address_changes(
    rng: np.random.Generator, tenure: np.ndarray, ptype: np.ndarray, hh: Households
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = tenure.size
    t_change = rng.random(n) < P.TENURE_CHANGE_RATE
    p_change = rng.random(n) < P.PROPERTY_CORRECTION_RATE
    tenure = tenure.copy()
    ptype = ptype.copy()
    tenure[t_change] = (tenure[t_change] + rng.integers(1, 4, int(t_change.sum()))) % 4
    ptype[p_change] = (ptype[p_change] + rng.integers(1, 5, int(p_change.sum()))) % 5
    return np.flatnonzero(t_change | p_change), tenure, ptype


def _key_record(key: P.Key) -> dict:
    """A record key as world.json documents it, with whether it is a crisis (the contracts')."""
    fields = asdict(key)
    head = ("source", "event_type", "attrs", "vuln")
    return {
        **{f: fields[f] for f in head},
        "crisis": key.crisis,
        **{f: v for f, v in fields.items() if f not in head},
    }


def _write_world(
    truth: Path,
    s: SynthSummary,
    seed: int,
    end: str,
    mess_rate: float,
    move_rate: float,
    pop: Population,
    resolved: World,
    record_links: int = 0,
    identifiers: dict | None = None,
    loop: dict | None = None,
) -> None:
    """The parameters behind the truth (never the key or a raw identifier)."""
    from hearth.synth.latent import z_nodes  # scipy

    nodes, weights = z_nodes()
    onset, rem, stat = P.chain_tables()
    world = {
        "generator": "hearth.synth",
        "seed": seed,
        "households": s.households,
        "months": s.months,
        "end": end,
        "first_month": s.first_month,
        "as_of_months": [
            month_name(parse_month(s.first_month) + 1),
            month_name(parse_month(end) + 1),
        ],
        "mess_rate": mess_rate,
        "move_rate": move_rate,
        "leave_rate": move_rate * P.LEAVE_SHARE_OF_MOVE_RATE,
        "arrival_rate": move_rate * P.LEAVE_SHARE_OF_MOVE_RATE,
        "social_care_household_share": P.SOCIAL_CARE_HOUSEHOLD_SHARE,
        "z": {
            "shape": P.Z_SHAPE,
            "rate": P.Z_RATE,
            "nodes": nodes.tolist(),
            "weights": weights.tolist(),
        },
        "deprivation_multiplier": list(P.DEP_MULT),
        "vulnerabilities": [
            {
                "name": v.name,
                "needs": v.needs,
                "prevalence_by_quintile": list(v.prevalence),
                "onset_by_quintile": onset[k].tolist(),
                "remission": v.remission,
            }
            for k, v in enumerate(P.VULNS)
        ],
        "keys": [_key_record(k) for k in resolved.keys],
        "counts": {
            "rows": s.rows,
            "persons": s.persons,
            "moves": pop.moves,
            "leaves": pop.leaves,
            "arrivals": pop.arrivals,
            "departure_exposure": pop.mover_exposure,
            "truth_rows": s.truth_rows,
            "crisis_rate": s.crisis_rate,
        },
    }
    if not resolved.params.is_default:  # today's world.json stays as it was, byte for byte
        world["mechanisms"] = {
            "on": resolved.params.active(),
            "params": asdict(resolved.params),
            "drawn": resolved.drawn,
        }
    del stat, rem
    if identifiers is not None:  # agencies' identifiers; shared keys: as it always was
        world["identifiers"] = identifiers
        world["counts"]["record_links"] = record_links
    if loop is not None:  # the closed loop's partnership; without it, as it always was
        world["partnership"] = loop
    (truth / "world.json").write_text(json.dumps(world, indent=2) + "\n", encoding="utf-8")
