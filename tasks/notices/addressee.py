"""Who a notice went to, as digests: SHA-256 of the name and of the address (tasks/notices/
records.py stores them with the notice). Tonight's sweep compares them with the register, to
tell a move within the city (a returned notice is reissued) from a name change (a person
decides). Values only, and light: the review commands load it too."""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Protocol


class Addressee(Protocol):
    """The register's fields a notice is addressed with (a kofu.models.Resident has them)."""

    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    postal_code: str
    address: str


def _digest(*fields: str) -> str:
    # NFKC and no spaces: the same name typed with a full-width space is the same name.
    text = "\x1f".join("".join(unicodedata.normalize("NFKC", f or "").split()) for f in fields)
    return hashlib.sha256(text.encode()).hexdigest()


def addressee_digests(resident: Addressee) -> tuple[str, str]:
    """SHA-256 of the name (kanji and kana) and of the postal code and address a notice goes
    to: stored with the notice, compared with the register later."""
    name = _digest(
        resident.family_name,
        resident.given_name,
        resident.family_name_kana,
        resident.given_name_kana,
    )
    return name, _digest(resident.postal_code, resident.address)
