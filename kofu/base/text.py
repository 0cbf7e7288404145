"""What a name or an address may hold: the one rule that the delivery's intake and the
register's import share, so that nothing one refuses can come in through the other. And
what a resident code is, wherever one is typed or read."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# A resident code: 11 ASCII digits (\d would also take full-width ones).
RESIDENT_CODE: Final = re.compile(r"[0-9]{11}")

# Unicode categories that print nothing or move the text around on an envelope:
# Cc (C0, DEL, C1: NUL, BEL, ESC…), Cf (format: U+202E right-to-left override, zero-width
# space and joiners, the BOM), Cs (lone surrogates, which no database stores) and Zl/Zp
# (line and paragraph separators). Private-use characters (Co) stay allowed: municipal
# systems map 外字 (characters outside JIS) there.
_UNPRINTABLE: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def has_unprintable(value: str) -> bool:
    """True when ``value`` holds a character no envelope should carry (see _UNPRINTABLE)."""
    return any(unicodedata.category(c) in _UNPRINTABLE for c in value)
