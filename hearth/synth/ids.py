"""Raw synthetic identifiers (NHS-number-like, UPRN-like) and their pseudonyms.

Raw identifiers live only in memory: they are hashed with a key derived from the seed and the
hashes are all that is written.
"""

from __future__ import annotations

import hashlib

import numpy as np

from hearth.privacy.pseudonymise import hmac_hex

_MULT = 7919 * 104729  # coprime to 9 * 10**8 and 9 * 10**11, so i -> (i * _MULT + c) permutes


def synthetic_key(seed: int) -> bytes:
    return hashlib.sha256(b"hearth-synthetic-key:" + str(seed).encode("utf-8")).digest()


def _offset(seed: int, what: bytes, modulus: int) -> int:
    return int.from_bytes(hashlib.sha256(what + str(seed).encode()).digest()[:8], "big") % modulus


def nhs_check_digit(prefix9: np.ndarray) -> np.ndarray:
    """Modulus-11 check digit for 9-digit prefixes; 10 marks a prefix that has no valid number."""
    prefix9 = np.asarray(prefix9, dtype=np.int64)
    total = np.zeros_like(prefix9)
    for pos in range(9):  # digit pos (0 = leftmost) has weight 10 - pos
        digit = (prefix9 // 10 ** (8 - pos)) % 10
        total += digit * (10 - pos)
    check = 11 - total % 11
    return np.where(check == 11, 0, check)


def nhs_numbers(n: int, seed: int) -> np.ndarray:
    """n distinct valid 10-digit NHS-number-like integers."""
    span = 9 * 10**8
    c = _offset(seed, b"nhs", span)
    want = int(n * 1.15) + 64  # about 1 prefix in 11 has no valid check digit
    i = np.arange(want, dtype=np.int64)
    prefix = 10**8 + (i * (_MULT % span) + c) % span
    check = nhs_check_digit(prefix)
    ok = check != 10
    out = (prefix * 10 + check)[ok][:n]
    assert out.size == n
    return out


def uprns(n: int, seed: int) -> np.ndarray:
    """n distinct 12-digit UPRN-like integers."""
    span = 9 * 10**11
    c = _offset(seed, b"uprn", span)
    i = np.arange(n, dtype=np.int64)
    return 10**11 + (i * (_MULT % span) + c) % span


def pseudonyms(key: bytes, raw: np.ndarray) -> list[str]:
    """HMAC-SHA256 hex digests of the decimal strings of raw integer identifiers, exactly as a
    partner agency would make them with `hearth pseudonymise`."""

    return hmac_hex(key, (str(int(x)) for x in raw.tolist()))  # type: ignore[return-value]
