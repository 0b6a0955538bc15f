"""What `hearth pseudonymise --tokens` checks before it makes a token (issue 25): the linkage
key, and that each token column it would write is declared by the source's contract."""

from __future__ import annotations

from collections.abc import Mapping

from hearth.privacy.tokens import TOKEN_COLUMNS, VERSION_COLUMN, TokenError
from hearth.quality.contract_model import Contract

MIN_BYTES = 16  # as the pseudonymisation key (pseudonymise.MIN_KEY_BYTES)


def check_linkage_key(
    key: bytes, tokens: Mapping[str, str], linkage_key: bytes | None, env_var: str
) -> None:
    """The linkage key is there when tokens are asked for, long enough, and not the
    identifier key (tokens and pseudonyms are kept, rotated and revoked apart)."""
    if not tokens:
        return
    if linkage_key is None:
        raise TokenError(
            "Tokens need the linkage key: give --linkage-key-file or set "
            f"{env_var}. Nothing was written."
        )
    if len(linkage_key) < MIN_BYTES:
        raise TokenError(f"The linkage key is too short: it must be at least {MIN_BYTES} bytes.")
    if bytes(linkage_key) == bytes(key):
        raise TokenError(
            "The linkage key is the pseudonymisation key: tokens must be made under a key of "
            "their own, so that tokens and pseudonyms can be kept, rotated and revoked apart. "
            "Nothing was written."
        )


def check_token_columns(
    contract: Contract, tokens: Mapping[str, str], present: list[str], hashed: list[str]
) -> None:
    """Each kind named once, declared by the contract, and no clash with the file's columns."""
    kinds = list(tokens.values())
    for c, kind in tokens.items():
        if kind not in TOKEN_COLUMNS:
            raise TokenError(
                f"'{c}:{kind}' in --tokens: '{kind}' is not something tokens are made of; give "
                f"one of {', '.join(TOKEN_COLUMNS)}. Nothing was written."
            )
        if kinds.count(kind) > 1:
            raise TokenError(f"Two columns are both given as {kind} in --tokens.")
        if c in hashed:
            raise TokenError(f"Column '{c}' is given both in --columns and in --tokens.")
        undeclared = [t for t in TOKEN_COLUMNS[kind] if t not in contract.column_names]
        if undeclared:
            raise TokenError(
                f"The {contract.source} contract declares no {', '.join(undeclared)} column, so "
                f"no token of a {kind.replace('_', ' ')} may leave in its extract "
                f"('{c}:{kind}' in --tokens). Nothing was written."
            )
    made = [t for kind in kinds for t in TOKEN_COLUMNS[kind]] + [VERSION_COLUMN]
    clash = [t for t in made if t in present] if tokens else []
    if clash:
        raise TokenError(
            f"The file already has a column '{clash[0]}', which --tokens would write. Make "
            "tokens from the raw columns only. Nothing was written."
        )
