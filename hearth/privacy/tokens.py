"""Keyed-hash tokens of standardised quasi-identifiers, made at the sending agency (issue 25).

Where an agency has no NHS number or UPRN for a record, it sends tokens of the name, date of
birth and address it does hold, so Hearth can link the record probabilistically without ever
holding a name, a date of birth or a postcode. Every token is an HMAC-SHA256 under the
**linkage key** (never the identifier key behind the pseudonyms), of the value after the
standardisation below, tagged with the token version and what it is of.

Standardisation, version `TOKEN_VERSION` (a change to any rule is a new version: tokens of two
versions never agree, and every extract carries its version in `token_version`):

- names: accents dropped (Zoë -> ZOE, Łukasz -> LUKASZ), upper case, apostrophes and dots
  removed (O'Brien -> OBRIEN), hyphens and other punctuation joined (Smith-Jones and
  "Smith Jones" -> SMITHJONES), a leading "Mc" written "Mac" (McDonald, Mc Donald ->
  MACDONALD); a forename is its first word (Mary-Jane -> MARYJANE, "John Paul" -> JOHN) and a
  known nickname is its full name (Bob, Bobby, Rob -> ROBERT: `NICKNAMES`); a leading title
  (Mr, Mrs, Ms, Miss, Dr) is dropped;
- phonetic codes: American Soundex of the standardised name (SMITH, SMYTHE -> S530);
- bigrams: the standardised name padded with `_` both sides, each distinct bigram hashed to 8
  hex characters, sorted (so the order of letters is not kept) and joined by spaces - Dice
  agreement is `2*|a & b| / (|a| + |b|)` on these sets;
- date of birth: `yyyy-mm-dd`, `dd/mm/yyyy`, `dd-mm-yyyy` or `dd.mm.yyyy` (one-digit day and
  month allowed); the whole date and its year, month and day are tokens. Month and day share one
  tag, so a record whose day and month were swapped has its month token equal to the other's
  day token (and the linkage can compare them crosswise);
- postcode: upper case, spaces removed, a UK postcode's form checked; tokens of the unit
  (`SW1A 1AA`), sector (`SW1A 1`) and district (`SW1A`);
- premise: the house number (or the first word of a house name) from the address line, the
  street (the words after the number, its last word's abbreviation written out: High St ->
  HIGH STREET) and the postcode unit (`12A|HIGH STREET|SW1A 1AA`). The street is part of it
  since version t2: a postcode mistyped into the next unit (SW1A 1AA as SW1A 1AB) gave the
  same number in the next street, and address-only records linked to the wrong household.

Forename and surname share their tags, so a record whose forename and surname were swapped
agrees crosswise with its other records.

A token is as identifying as a pseudonym (anyone with the linkage key and a guess can test it),
and a part token (a month, a district) has few values: tokens stay inside the partnership's
secure environment, roles give them to no one, and only the linkage stage reads them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import polars as pl

TOKEN_VERSION = "t2"
TOKEN_HEX = 32  # 128 bits of the HMAC: collisions are negligible at a partnership's size
BIGRAM_HEX = 8
TOKEN_PATTERN = rf"^[0-9a-f]{{{TOKEN_HEX}}}$"
# a name of one letter has two padded bigrams (_A, A_): a set has two or more, so a lone run of
# eight digits (a date of birth written 19800514) is not of this shape
BIGRAMS_PATTERN = rf"^[0-9a-f]{{{BIGRAM_HEX}}}( [0-9a-f]{{{BIGRAM_HEX}}}){{1,99}}$"
VERSION_PATTERN = r"^t[0-9]{1,3}$"
TOKEN_PATTERNS = (TOKEN_PATTERN, BIGRAMS_PATTERN, VERSION_PATTERN)
VERSION_COLUMN = "token_version"

# What `--tokens` can name, and the contract columns each fills.
TOKEN_COLUMNS: dict[str, tuple[str, ...]] = {
    "forename": ("given_token", "given_phonetic_token", "given_bigram_tokens"),
    "surname": ("family_token", "family_phonetic_token", "family_bigram_tokens"),
    "date_of_birth": ("birth_token", "birth_year_token", "birth_month_token", "birth_day_token"),
    "postcode": ("pc_unit_token", "pc_sector_token", "pc_district_token"),
    "address": ("premise_token",),  # needs the postcode too
}
ALL_TOKEN_COLUMNS = (*(c for cols in TOKEN_COLUMNS.values() for c in cols), VERSION_COLUMN)

# Nicknames to the full forename (upper case). Part of the version: a change is a new version.
_NICKNAME_TABLE = """
ROBERT: BOB BOBBY ROB ROBBIE BERT
WILLIAM: BILL BILLY WILL WILLIE LIAM
RICHARD: DICK RICH RICHIE RICKY
JAMES: JIM JIMMY JAMIE
JOHN: JACK JOHNNY
MICHAEL: MIKE MICK MICKEY
THOMAS: TOM TOMMY
ANTHONY: TONY
EDWARD: ED EDDIE TED TEDDY NED
CHRISTOPHER: CHRIS KIT
DANIEL: DAN DANNY
DAVID: DAVE DAVY
JOSEPH: JOE JOEY
MATTHEW: MATT
NICHOLAS: NICK NICKY
PETER: PETE
STEPHEN: STEVE STEVIE STEVEN
SAMUEL: SAM SAMMY
BENJAMIN: BEN BENNY
ALEXANDER: ALEX SANDY
ANDREW: ANDY DREW
CHARLES: CHARLIE CHUCK
HENRY: HARRY HAL
FREDERICK: FRED FREDDIE
GEOFFREY: GEOFF
KENNETH: KEN KENNY
TIMOTHY: TIM
PATRICK: PAT PADDY
ELIZABETH: LIZ LIZZIE BETH BETTY ELIZA LIBBY
MARGARET: MAGGIE MEG PEGGY MAGS
KATHERINE: KATE KATIE KATHY KAT
CATHERINE: CATH CATHY
REBECCA: BECKY BECCA
JENNIFER: JEN JENNY
JESSICA: JESS JESSIE
SUSAN: SUE SUSIE
PATRICIA: PATSY TRISH
DEBORAH: DEBBIE DEB
VICTORIA: VICKY TORI
ALEXANDRA: ALEX LEXI
SAMANTHA: SAM SAMMIE
ABIGAIL: ABBY ABBIE
CHRISTINE: CHRISSIE TINA
JACQUELINE: JACKIE
NATALIE: NAT
MOHAMMED: MOHAMMAD MUHAMMAD MOHAMED MUHAMMED
ALEKSANDER: OLEK
MALGORZATA: GOSIA
"""


def _nicknames(table: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in table.strip().splitlines():
        full, _, short = line.partition(":")
        for nick in short.split():
            out.setdefault(nick, full.strip())  # first listed wins (ALEX -> ALEXANDER)
    return out


NICKNAMES: dict[str, str] = _nicknames(_NICKNAME_TABLE)
_TITLES = {"MR", "MRS", "MS", "MISS", "MX", "DR"}
_SOUNDEX = {
    c: str(d)
    for d, letters in enumerate(("BFPV", "CGJKQSXZ", "DT", "L", "MN", "R"), 1)
    for c in letters
}
_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})")
_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_UK_DATE = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})")
_PREMISE = re.compile(r"[0-9]+[A-Z]?")
# A street's last word as agencies abbreviate it, written out (part of the version).
_STREET_WORDS = {
    "RD": "ROAD", "ST": "STREET", "AVE": "AVENUE", "AV": "AVENUE", "LN": "LANE", "CL": "CLOSE",
    "DR": "DRIVE", "CRES": "CRESCENT", "GDNS": "GARDENS", "GRN": "GREEN", "GR": "GROVE",
    "GRV": "GROVE", "PL": "PLACE", "SQ": "SQUARE", "TER": "TERRACE", "TERR": "TERRACE",
    "CT": "COURT", "PDE": "PARADE", "HL": "HILL", "WLK": "WALK",
}  # fmt: skip


class TokenError(ValueError):
    """A problem with what was asked to be tokenised, in a sentence; never a value."""


def _ascii_upper(text: str) -> str:
    # Letters that NFKD does not split into a base letter and a mark.
    text = text.translate(str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss"}))
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).upper()


def standard_name(value: str | None, forename: bool = False) -> str | None:
    """A name in its one standard form (see the module's docstring); None if nothing is left."""
    if value is None:
        return None
    text = re.sub(r"['\u2019`.]", "", _ascii_upper(value))
    text = re.sub(r"\s*[-\u2010-\u2014]\s*", "", text)  # hyphenated parts are one name
    words = re.sub(r"[^A-Z]+", " ", text).split()
    if len(words) > 1 and words[0] in _TITLES:
        words = words[1:]
    if not words:
        return None
    if forename:
        name = words[0]
        name = NICKNAMES.get(name, name)
    else:
        name = "".join(words)
    if name.startswith("MC") and len(name) > 2:
        name = "MAC" + name[2:]
    return name


def soundex(name: str) -> str:
    """American Soundex of an upper-case A-Z name (SMITH -> S530); H and W do not separate."""
    first, rest = name[0], name[1:]
    codes = [_SOUNDEX.get(first, "")]
    for c in rest:
        code = _SOUNDEX.get(c, "")
        if c in "HW":
            continue
        if code and code != codes[-1]:
            codes.append(code)
        elif not code:
            codes.append("")  # a vowel separates two equal codes
    digits = "".join(c for c in codes[1:] if c)
    return (first + digits + "000")[:4]


def bigrams(name: str) -> list[str]:
    padded = f"_{name}_"
    return sorted({padded[i : i + 2] for i in range(len(padded) - 1)})


def standard_postcode(value: str | None) -> tuple[str, str, str] | None:
    """(unit, sector, district) of a UK postcode written any way; None if it is not one."""
    if value is None:
        return None
    m = _POSTCODE.fullmatch("".join(value.split()).upper())
    if m is None:
        return None
    out, inward = m.groups()
    return f"{out} {inward}", f"{out} {inward[0]}", out


def standard_date(value: str | None) -> tuple[str, str, str] | None:
    """(year, month, day), zero-padded, as written; None if not a date form this reads. The
    parts are kept even where day and month may have been swapped: the linkage compares them."""
    if value is None:
        return None
    text = value.strip()
    m = _ISO.fullmatch(text)
    if m:
        y, mo, d = m.groups()
    else:
        m = _UK_DATE.fullmatch(text)
        if m is None:
            return None
        d, mo, y = m.groups()
    mo, d = int(mo), int(d)
    if not (1 <= mo <= 31 and 1 <= d <= 31 and 1 <= int(y) <= 9999):
        return None
    return y, f"{mo:02d}", f"{d:02d}"


def premise(address: str | None) -> str | None:
    """The house number (12A) or the first word of a house name, and the street, from an address
    line: `12A|HIGH STREET` (see the module's docstring)."""
    if address is None:
        return None
    words = re.sub(r"[^A-Z0-9]+", " ", _ascii_upper(address)).split()
    if not words:
        return None
    at = next((i for i, w in enumerate(words) if _PREMISE.fullmatch(w)), 0)
    street = [w for w in words[at + 1 :] if not _PREMISE.fullmatch(w)]
    if street:
        street[-1] = _STREET_WORDS.get(street[-1], street[-1])
    return f"{words[at]}|{' '.join(street)}"


Mac = Callable[[str], str]


def _token(mac: Mac, tag: str, text: str) -> str:
    return mac(f"{TOKEN_VERSION}|{tag}|{text}")[:TOKEN_HEX]


def _bigram_tokens(mac: Mac, name: str) -> str:
    hashed = {mac(f"{TOKEN_VERSION}|bigram|{b}")[:BIGRAM_HEX] for b in bigrams(name)}
    return " ".join(sorted(hashed))


@dataclass
class TokenCounts:
    """What could not be tokenised, per kind, as row counts (never values)."""

    rows: dict[str, int] = field(default_factory=dict)  # non-empty values per kind
    unreadable: dict[str, int] = field(default_factory=dict)

    def notes(self, names: Mapping[str, str]) -> list[str]:
        what = {
            "forename": "had no letters",
            "surname": "had no letters",
            "date_of_birth": "are not a date of birth in a form read (yyyy-mm-dd or dd/mm/yyyy)",
            "postcode": "are not a UK postcode",
            "address": "have no house number or name",
        }
        return [
            f"Column '{names[k]}': {n:,} of {self.rows[k]:,} values {what[k]}; their tokens "
            "were left empty."
            for k, n in self.unreadable.items()
            if n
        ]


def _per_distinct(s: pl.Series, make: Callable[[str], tuple[str | None, ...] | None], width: int):
    """Apply `make` once per distinct value (names and dates repeat); columns of its parts."""
    uniq = s.drop_nulls().unique().to_list()
    made = [make(v) for v in uniq]
    parts = []
    for i in range(width):
        out = [None if m is None else m[i] for m in made]
        parts.append(s.replace_strict(uniq, out, default=None, return_dtype=pl.String))
    unreadable = int(s.is_in([u for u, m in zip(uniq, made, strict=True) if m is None]).sum())
    return parts, unreadable


def make_tokens(
    mac: Mac, columns: Mapping[str, pl.Series], counts: TokenCounts | None = None
) -> dict[str, pl.Series]:
    """Token columns from raw quasi-identifier columns, keyed by kind (`TOKEN_COLUMNS`); the
    address needs the postcode. `mac` is the HMAC of the linkage key, as hex."""
    counts = counts if counts is not None else TokenCounts()
    unknown = sorted(set(columns) - set(TOKEN_COLUMNS))
    if unknown:
        raise TokenError(
            f"'{unknown[0]}' is not something tokens are made of; give one of "
            f"{', '.join(TOKEN_COLUMNS)}."
        )
    if "address" in columns and "postcode" not in columns:
        raise TokenError("A premise token needs the postcode too: give the postcode's column.")
    out: dict[str, pl.Series] = {}
    for kind, s in columns.items():
        s = s.cast(pl.String)
        counts.rows[kind] = s.len() - s.null_count()
        if kind in ("forename", "surname"):

            def name_parts(v: str, fore: bool = kind == "forename") -> tuple[str, ...] | None:
                name = standard_name(v, fore)
                if name is None:
                    return None
                return (
                    _token(mac, "name", name),
                    _token(mac, "soundex", soundex(name)),
                    _bigram_tokens(mac, name),
                )

            parts, bad = _per_distinct(s, name_parts, 3)
        elif kind == "date_of_birth":

            def dob_parts(v: str) -> tuple[str, ...] | None:
                ymd = standard_date(v)
                if ymd is None:
                    return None
                y, mo, d = ymd
                return (
                    _token(mac, "dob", f"{y}-{mo}-{d}"),
                    _token(mac, "year", y),
                    _token(mac, "day_month", mo),
                    _token(mac, "day_month", d),
                )

            parts, bad = _per_distinct(s, dob_parts, 4)
        elif kind == "postcode":

            def pc_parts(v: str) -> tuple[str, ...] | None:
                pc = standard_postcode(v)
                if pc is None:
                    return None
                return tuple(
                    _token(mac, tag, p)
                    for tag, p in zip(("unit", "sector", "district"), pc, strict=True)
                )

            parts, bad = _per_distinct(s, pc_parts, 3)
        else:
            (units,), _ = _per_distinct(
                columns["postcode"].cast(pl.String), lambda v: standard_postcode(v), 1
            )
            (numbers,), _ = _per_distinct(s, lambda v: (p,) if (p := premise(v)) else None, 1)
            both = pl.select(pl.concat_str([numbers, units], separator="|")).to_series()

            def premise_part(v: str) -> tuple[str, ...]:
                return (_token(mac, "premise", v),)

            parts, _ = _per_distinct(both, premise_part, 1)
            bad = int((s.is_not_null() & both.is_null()).sum())
        counts.unreadable[kind] = bad
        for name, part in zip(TOKEN_COLUMNS[kind], parts, strict=True):
            out[name] = part.alias(name)
    return out
