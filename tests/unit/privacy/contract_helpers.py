"""A contract of just the given columns, for tests of how identifiers are read and hashed (the
contract-shaped output itself is tested on the real contracts: test_pseudonymise_contract.py)."""

from __future__ import annotations

from collections.abc import Mapping

from hearth.ingest.shapes import PSEUDONYM
from hearth.privacy.pseudonymise import pseudonymise_file as _pseudonymise_file
from hearth.quality.contract_model import Column, Contract


def column(name: str, codes: tuple[str, ...] | None = None, kind: str = "string") -> Column:
    """A pseudonym column, (with `codes`) a code column, or one of `kind` (integer, date...)."""
    return Column(
        name=name,
        logical_type=kind,
        required=False,
        unique=False,
        allowed_values=codes,
        minimum=0 if kind in ("integer", "number") else None,  # bounds: a declared shape
        maximum=9999 if kind in ("integer", "number") else None,
        pattern=None if codes or kind != "string" else PSEUDONYM,
        description=name,
        roles=("police",),
    )


def contract_of(*columns: Column) -> Contract:
    return Contract("test", "csv", tuple(columns), (), "", (), "", "")


def pseudonymise_file(key, columns, src, dst, **kw):
    """The real function, with a contract holding exactly the pseudonyms asked for."""
    names = columns.values() if isinstance(columns, Mapping) else columns
    kw.setdefault("source", contract_of(*(column(n) for n in dict.fromkeys(names))))
    return _pseudonymise_file(key, columns, src, dst, **kw)
