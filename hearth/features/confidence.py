"""How surely records were linked, as the feature catalogue defines it (`link_confidence` in
sql/features/catalogue.yaml): the one home of what "high confidence" in a link means, and the
features that share a household's records out by it.

A share is built from its sources' records of every kind (their dates and codes) and from how
each was linked: the source's pseudonym keys and its linkage tokens (the contracts' linkKey and
linkageToken columns, `access.link_columns`). The catalogue derives its roles from those, as
for every feature (hearth/features/catalogue.py)."""

from __future__ import annotations

from dataclasses import dataclass

from hearth.features.access import link_columns
from hearth.sources import SOURCES

WHERE = "sql/features/catalogue.yaml: link_confidence"


@dataclass(frozen=True)
class Confidence:
    high: float  # a link at or above this probability is high confidence
    mostly: float  # a reason whose records are more than this share less-than-high says so
    words: str  # what such a reason says ("linked with moderate confidence")
    window: int  # the months the shares look back over

    def share_feature(self, source: str) -> str:
        """The feature holding the share of `source`'s records linked below `high`."""
        return f"{source}_uncertain_share_{self.window}m"


@dataclass(frozen=True)
class ShareSpec:
    """One share feature as the catalogue writes it, with the columns it is built from."""

    name: str
    agency: str
    uses: tuple[str, ...]  # the event sources whose records it shares out
    text: str
    codes: tuple[str, ...]  # every code of those sources
    linked: tuple[tuple[str, str], ...]  # their keys and linkage tokens
    roles: list | None  # a `roles:` list written in the catalogue (must agree)

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        return (*((u, SOURCES[u].date_column) for u in self.uses), *self.linked)


def read_confidence(raw: dict) -> Confidence:
    lc = raw.get("link_confidence")
    if not isinstance(lc, dict):
        raise ValueError(f"{WHERE} is missing: it defines what high confidence in a link means.")
    high, mostly = lc.get("high"), lc.get("mostly")
    for name, v in (("high", high), ("mostly", mostly)):
        if not isinstance(v, int | float) or isinstance(v, bool) or not 0 < v < 1:
            raise ValueError(f"{WHERE}: {name} must be a share between 0 and 1 (not 0 or 1).")
    if not str(lc.get("words") or "").strip() or lc.get("window") not in raw["windows"]:
        raise ValueError(f"{WHERE} needs `words` and a `window` that is one of the windows.")
    return Confidence(float(high), float(mostly), str(lc["words"]).strip(), int(lc["window"]))


def share_specs(raw: dict, conf: Confidence, every: list[str]) -> list[ShareSpec]:
    """The share features, one per event source at least, each with what it is built from."""
    specs = []
    for cf in raw["link_confidence"].get("features") or []:
        uses = tuple(cf.get("uses") or ())
        unknown = [u for u in uses if u not in SOURCES or SOURCES[u].kind != "event"]
        if not uses or unknown:
            raise ValueError(
                f"{WHERE}: feature {cf.get('name')} must use event sources; "
                f"{unknown or 'none'} given."
            )
        if len(uses) == 1 and cf["name"] != conf.share_feature(uses[0]):
            raise ValueError(
                f"{WHERE}: the share of {uses[0]}'s records is named "
                f"{conf.share_feature(uses[0])}, not {cf['name']}."
            )
        specs.append(
            ShareSpec(
                cf["name"],
                cf["agency"],
                uses,
                cf["text"],
                tuple(c for c in every if c.split(":")[0] in uses),
                tuple(col for u in uses for col in link_columns(u)),
                cf.get("roles"),
            )
        )
    named = {s.name for s in specs}
    missing = [
        conf.share_feature(s.name)
        for s in SOURCES.values()
        if s.kind == "event" and conf.share_feature(s.name) not in named
    ]
    if missing:
        raise ValueError(f"{WHERE}: every event source needs its share; add {', '.join(missing)}.")
    return specs
