"""Who each synthetic person is (name, date of birth, address), and how each agency records it
with the errors real extracts have (issue 25; rates in identity_params.py).

Everything here draws from its own random streams, so the world's households, people, events
and truth are the same under either kind of identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hearth.privacy.tokens import NICKNAMES
from hearth.synth import identity_params as IP
from hearth.synth import params as P
from hearth.synth.names import MIX, NAME_ZIPF, NAMES, STREETS, SWAP_FACTOR
from hearth.synth.population import Areas

_EPOCH = np.datetime64("1970-01-01", "D")
# Postcode areas: made-up (no UK postcode area ends in Q) but of the valid form.
_AREA_FIRST = "ABCDEFGHJKLMNOPRSTUWY"
_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters an inward code's last two may be
# each full forename's short forms, to record a nickname from
_SHORT: dict[str, list[str]] = {}
for _nick, _full in sorted(NICKNAMES.items()):
    _SHORT.setdefault(_full, []).append(_nick)


@dataclass
class Identities:
    forename: np.ndarray  # per person (object: str)
    surname: np.ndarray  # today's
    old_surname: np.ndarray  # the surname before a change (marriage), else None
    dob: np.ndarray  # days since 1970-01-01
    postcode: np.ndarray  # per household
    address: np.ndarray  # per household: house number and street
    twins: int = 0
    namesakes: int = 0
    surname_changes: int = 0


def _area_code(i: int) -> str:
    """The i-th made-up postcode area: no UK area's second letter is Q or X."""
    k = len(_AREA_FIRST)
    return _AREA_FIRST[i % k] + "QX"[(i // k) % 2]


def _zipf(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** NAME_ZIPF
    return rng.choice(n, size=size, p=w / w.sum())


def _name_group(rng: np.random.Generator, eth: np.ndarray) -> np.ndarray:
    """The name list (index into NAMES) each person draws from."""
    groups = list(NAMES)
    out = np.empty(eth.size, dtype=np.int64)
    for e, name in enumerate(P.ETHNIC_GROUPS):
        sel = np.flatnonzero(eth == e)
        if name in NAMES:
            out[sel] = groups.index(name)
        else:
            mix = MIX[name]
            p = np.array([mix.get(g, 0.0) for g in groups])
            out[sel] = rng.choice(len(groups), size=sel.size, p=p / p.sum())
    return out


def _draw(rng: np.random.Generator, group: np.ndarray, which: np.ndarray) -> np.ndarray:
    """A name per person from its group's list `which` (0 F, 1 M, 2 surname)."""
    out = np.empty(group.size, dtype=object)
    for g, lists in enumerate(NAMES.values()):
        for w in (0, 1, 2):
            sel = np.flatnonzero((group == g) & (which == w))
            names = np.array(lists[w], dtype=object)
            out[sel] = names[_zipf(rng, names.size, sel.size)]
    return out


def postcodes(
    rng: np.random.Generator, areas: Areas, lsoa: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A postcode and an address line per household, nested as the areas are: an LSOA is one
    postcode sector, a ward's LSOAs share a district (ten sectors at most to one), an LA's
    districts share an area; a unit is about IP.POSTCODE_UNIT_HOUSEHOLDS households of one
    street."""
    ward = areas.lsoa_ward
    la = areas.ward_la[ward]
    n_lsoa = ward.size
    # rank of each LSOA within its ward, of each ward within its LA
    lsoa_rank = np.zeros(n_lsoa, dtype=np.int64)
    for w in np.unique(ward):
        sel = np.flatnonzero(ward == w)
        lsoa_rank[sel] = np.arange(sel.size)
    ward_rank = np.zeros(areas.ward_la.size, dtype=np.int64)
    for a in np.unique(areas.ward_la):
        sel = np.flatnonzero(areas.ward_la == a)
        ward_rank[sel] = np.arange(sel.size)
    block = lsoa_rank // 10  # ten sectors to a district
    per_area = 99 // (P.WARDS_PER_LA[1])  # district numbers an area holds per ward
    area_index = la * 64 + block // per_area
    number = ward_rank[ward] * per_area + block % per_area + 1
    area = np.unique(area_index, return_inverse=True)[1]
    districts = np.array(
        [f"{_area_code(a)}{k}" for a, k in zip(area, number, strict=True)], dtype=object
    )
    sector = np.array(
        [f"{d} {r % 10}" for d, r in zip(districts, lsoa_rank, strict=True)], dtype=object
    )
    # households of an LSOA in a random order, cut into units of a street each
    order = np.lexsort((rng.random(lsoa.size), lsoa))
    rank = np.empty(lsoa.size, dtype=np.int64)
    starts = np.searchsorted(lsoa[order], lsoa[order])
    rank[order] = np.arange(lsoa.size) - starts
    unit = rank // IP.POSTCODE_UNIT_HOUSEHOLDS
    house = rank % IP.POSTCODE_UNIT_HOUSEHOLDS + 1
    letters = len(_UNIT_LETTERS)
    pc = np.array(
        [
            f"{sector[s]}{_UNIT_LETTERS[(u // letters) % letters]}{_UNIT_LETTERS[u % letters]}"
            for s, u in zip(lsoa, unit, strict=True)
        ],
        dtype=object,
    )
    street = (lsoa * 7 + unit * 3) % len(STREETS)
    address = np.array(
        [f"{h} {STREETS[s]}" for h, s in zip(house, street, strict=True)], dtype=object
    )
    return pc, address


def make_identities(
    rng: np.random.Generator,
    areas: Areas,
    lsoa: np.ndarray,
    origin_hh: np.ndarray,
    birth_year: np.ndarray,
    sex: np.ndarray,
    eth: np.ndarray,
    year_now: int,
) -> Identities:
    """Every person's name and date of birth, every household's postcode and address line.
    `origin_hh` is each person's first household (whose surname they share, mostly)."""
    n = birth_year.size
    pc, address = postcodes(rng, areas, lsoa)
    group = _name_group(rng, eth)
    sex_drawn = np.where(sex == 2, rng.integers(0, 2, n), sex)  # U: either list
    forename = _draw(rng, group, sex_drawn)
    own_surname = _draw(rng, group, np.full(n, 2))
    # the household's surname is its first member's
    first = np.full(lsoa.size, -1, dtype=np.int64)
    order = np.argsort(origin_hh, kind="stable")
    starts = np.flatnonzero(np.r_[True, origin_hh[order][1:] != origin_hh[order][:-1]])
    first[origin_hh[order][starts]] = order[starts]
    hh_surname = own_surname[first[origin_hh]]
    shared = rng.random(n) < IP.SHARE_HOUSEHOLD_SURNAME
    surname = np.where(shared, hh_surname, own_surname)
    # dates of birth inside the birth year the world already has
    start = np.array(birth_year - 1970, dtype="datetime64[Y]").astype("datetime64[D]") - _EPOCH
    start = start.astype(np.int64)
    length = np.where(
        (birth_year % 4 == 0) & ((birth_year % 100 != 0) | (birth_year % 400 == 0)), 366, 365
    )
    dob = start + (rng.random(n) * length).astype(np.int64)
    # twins: two children of one household born in the same year share a birth date
    child = birth_year >= year_now - 17
    key = origin_hh * 10000 + birth_year
    cand = np.flatnonzero(child)
    cand = cand[np.argsort(key[cand], kind="stable")]
    pair = np.flatnonzero(key[cand][1:] == key[cand][:-1])
    make = pair[rng.random(pair.size) < IP.TWIN_SHARE]
    a, b = cand[make], cand[make + 1]
    dob[b] = dob[a]
    surname[b] = surname[a]
    # namesakes: someone given the name of another person in the same street (postcode unit)
    unit_of = pc[origin_hh]
    chosen = np.flatnonzero(rng.random(n) < IP.NAMESAKE_RATE)
    by_unit = np.argsort(unit_of, kind="stable")
    sorted_units = unit_of[by_unit]
    lo = np.searchsorted(sorted_units, unit_of[chosen], side="left")
    hi = np.searchsorted(sorted_units, unit_of[chosen], side="right")
    other = by_unit[lo + (rng.random(chosen.size) * (hi - lo)).astype(np.int64)]
    keep = origin_hh[other] != origin_hh[chosen]
    forename[chosen[keep]] = forename[other[keep]]
    surname[chosen[keep]] = surname[other[keep]]
    # a surname changed (marriage): today's is new, agencies may hold the old one
    adult_f = (sex == 0) & (birth_year <= year_now - 20)
    changed = np.flatnonzero(adult_f & (rng.random(n) < IP.SURNAME_CHANGE_RATE))
    old_surname = np.full(n, None, dtype=object)
    old_surname[changed] = surname[changed]
    surname[changed] = _draw(rng, group[changed], np.full(changed.size, 2))
    same = surname[changed] == old_surname[changed]
    old_surname[changed[same]] = None
    return Identities(
        forename,
        surname,
        old_surname,
        dob,
        pc,
        address,
        twins=int(make.size),
        namesakes=int(keep.sum()),
        surname_changes=int((~same).sum()),
    )


def _typo(rng: np.random.Generator, text: str) -> str:
    """One letter changed, dropped, or swapped with the next."""
    if len(text) < 3:
        return text
    i = int(rng.integers(1, len(text) - 1))
    op = int(rng.integers(0, 3))
    if op == 0:
        letter = chr(ord("a") + int(rng.integers(0, 26)))
        return text[:i] + (letter.upper() if text[i].isupper() else letter) + text[i + 1 :]
    if op == 1:
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _nickname(rng: np.random.Generator, forename: str) -> str:
    short = _SHORT.get(forename.upper())
    return forename if not short else short[int(rng.integers(0, len(short)))].title()


def recorded(
    rng: np.random.Generator,
    rec: IP.Recording,
    ident: Identities,
    person: np.ndarray,
    household: np.ndarray,
    previous: np.ndarray,
    eth: np.ndarray,
    heard: bool = False,
) -> dict[str, list[str | None]]:
    """What an agency's system holds of each record's person and address, with its errors:
    forename, surname, date_of_birth, postcode and address_line (rates: `rec`). `previous` is
    an address the person had before (for an old address); `heard` (police) writes dates as
    dd/mm/yyyy and names and postcodes as typed, in varying case and spacing."""
    n = person.size
    u = lambda: rng.random(n)  # noqa: E731 - one fresh uniform per record and error
    fore = ident.forename[person].copy()
    sur = ident.surname[person].copy()
    old = ident.old_surname[person]
    use_old = (old != None) & (u() < rec.old_surname)  # noqa: E711 - an object array
    sur[use_old] = old[use_old]
    for i in np.flatnonzero(u() < rec.nickname):
        fore[i] = _nickname(rng, fore[i])
    typo = np.flatnonzero(u() < rec.typo)
    in_fore = rng.random(typo.size) < 0.5
    for i, f in zip(typo, in_fore, strict=True):
        if f:
            fore[i] = _typo(rng, fore[i])
        else:
            sur[i] = _typo(rng, sur[i])
    factor = np.array([SWAP_FACTOR[g] for g in P.ETHNIC_GROUPS])[eth[person]]
    swap = u() < rec.swap_names * factor
    fore[swap], sur[swap] = sur[swap], fore[swap].copy()
    if heard:
        upper = u() < 0.4
        fore[upper] = [f.upper() for f in fore[upper]]
        sur[upper] = [s.upper() for s in sur[upper]]
    # date of birth
    dob = (_EPOCH + ident.dob[person]).astype("datetime64[D]")
    year = dob.astype("datetime64[Y]").astype(np.int64) + 1970
    month = dob.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (dob - dob.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    swap_dm = (u() < rec.swap_day_month) & (day <= 12) & (day != month)
    month, day = np.where(swap_dm, day, month), np.where(swap_dm, month, day)
    off = u() < rec.dob_typo
    day = np.where(off, np.clip(day + np.where(day > 1, -1, 1), 1, 28), day)
    if heard:
        dates = [f"{d:02d}/{m:02d}/{y}" for y, m, d in zip(year, month, day, strict=True)]
    else:
        dates = [f"{y}-{m:02d}-{d:02d}" for y, m, d in zip(year, month, day, strict=True)]
    # address: the household's on the record's date, or an earlier one
    hh = np.where(u() < rec.old_address, previous, household)
    pc = ident.postcode[hh].copy()
    for i in np.flatnonzero(u() < rec.postcode_typo):
        p = pc[i]
        pc[i] = p[:-1] + _UNIT_LETTERS[(_UNIT_LETTERS.index(p[-1]) + 1) % len(_UNIT_LETTERS)]
    if heard:
        squash = u() < 0.3
        pc[squash] = [p.replace(" ", "").lower() for p in pc[squash]]
    address = ident.address[hh]
    out = {
        "forename": fore,
        "surname": sur,
        "date_of_birth": np.array(dates, dtype=object),
        "postcode": pc,
        "address_line": address.copy(),
    }
    for column, rate in (
        ("forename", rec.missing_forename),
        ("date_of_birth", rec.missing_dob),
        ("postcode", rec.missing_postcode),
    ):
        out[column][u() < rate] = None
    out["address_line"][np.array([p is None for p in out["postcode"]], dtype=bool)] = None
    return {k: v.tolist() for k, v in out.items()}
