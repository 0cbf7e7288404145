"""個人番号 (individual number) check digit and keyed hashing.

Check digit: 総務省令第85号 第5条. Weights on the first eleven digits, read left to right,
are 6 5 4 3 2 7 6 5 4 3 2; r = sum mod 11; the check digit is 0 when r <= 1, else 11 - r.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Final

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


# Digits as they are typed: ASCII or full-width. Between two digits, a space (also the
# ideographic one) or a hyphen-like character may stand, as in 1234 5678 9012 or 1234-5678-9012.
_DIGITS: Final = {**{c: c for c in "0123456789"}, **{chr(0xFF10 + i): str(i) for i in range(10)}}
_SEPARATORS: Final = frozenset(" \u3000-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\u30fc")


def individual_numbers_in(text: str) -> list[tuple[int, int]]:
    """Where ``text`` holds a number that passes the individual number's check digit: the
    (start, end) spans, ``text[start:end]`` being the number as typed (its separators too).

    A candidate is twelve digits in a row, separators between them ignored, that begin and end
    where a run of digits or one of its separated groups begins or ends. So 1234 5678 9012
    inside "0312 1234 5678 9012" is found, while the 23 digits of an application id are one
    run and are not."""
    found: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] not in _DIGITS:
            i += 1
            continue
        # One run: digits with single separators between them. ``starts`` holds the text
        # position of each digit; ``bounds`` the digit counts at which a group begins or ends.
        digits: list[str] = []
        starts: list[int] = []
        bounds = {0}
        j = i
        while j < n:
            if text[j] in _DIGITS:
                digits.append(_DIGITS[text[j]])
                starts.append(j)
                j += 1
            elif text[j] in _SEPARATORS and j + 1 < n and text[j + 1] in _DIGITS and digits:
                bounds.add(len(digits))
                j += 1
            else:
                break
        bounds.add(len(digits))
        run = "".join(digits)
        for a in sorted(bounds):
            b = a + 12
            if b in bounds and has_valid_check_digit(run[a:b]):
                found.append((starts[a], starts[b - 1] + 1))
        i = j
    return found


_TWELVE_DIGITS = re.compile(r"(?<!\d)\d{4}[ -]?\d{4}[ -]?\d{4}(?!\d)")


def mask_individual_numbers(text: str) -> str:
    return _TWELVE_DIGITS.sub("[individual-number]", text)
