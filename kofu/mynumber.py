"""個人番号 (individual number) check digit and keyed hashing.

Check digit: 総務省令第85号 第5条. Weights on the first eleven digits, read left to right,
are 6 5 4 3 2 7 6 5 4 3 2; r = sum mod 11; the check digit is 0 when r <= 1, else 11 - r.
"""

from __future__ import annotations

import hashlib
import hmac

_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def check_digit(first_eleven: str) -> int:
    if len(first_eleven) != 11 or not first_eleven.isascii() or not first_eleven.isdigit():
        raise ValueError("expected 11 digits")
    r = sum(int(d) * w for d, w in zip(first_eleven, _WEIGHTS, strict=True)) % 11
    return 0 if r <= 1 else 11 - r


def is_well_formed(number: str) -> bool:
    return len(number) == 12 and number.isascii() and number.isdigit()


def has_valid_check_digit(number: str) -> bool:
    return is_well_formed(number) and check_digit(number[:11]) == int(number[11])


def keyed_hash(number: str, key: bytes) -> str:
    """HMAC-SHA256 of the number: equal numbers give equal hashes, and without the key
    the 10^11 possible numbers cannot be enumerated back from the hash."""
    return hmac.new(key, number.encode("ascii"), hashlib.sha256).hexdigest()
