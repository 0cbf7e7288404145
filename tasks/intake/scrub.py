"""Blanking the individual numbers in a delivery file once intake has recorded them.

The delivery is the last place the plain numbers are in. Once every line is recorded (the
numbers as keyed hashes), each line is rewritten so that it holds no number and stays what it
was otherwise:
- the ``individual_number`` field's value, a string or a JSON number, becomes ``null``, which
  intake takes as "no number": the line is still valid JSON and the same application, only
  without its number, if the delivery is ever taken in again into a new database;
- a number typed into another field (intake refuses such a line) is cut out of its string;
- nothing else changes, byte for byte.

A line that is not a JSON object (not UTF-8, not JSON, too long to be read) was never taken
in as an application; its twelve-digit runs are blanked on the bytes, so a 10 MB line is
streamed, never held whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from kofu.base.atomic import write_atomic
from kofu.base.mynumber import individual_numbers_in

# The individual_number key and its value, a JSON string or number, outside any string: the
# key's closing quote is followed by a colon, which inside a string would be escaped text.
_NUMBER_VALUE = re.compile(r'("individual_number"\s*:\s*)("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*)')

# For lines that are not JSON: twelve digits, plain or as 4-4-4 with spaces or hyphens, in
# ASCII or full-width (UTF-8 EF BC 90-99), standing alone (an application id has 23 digits and
# is left as it is). Matched on the bytes, so a line that is not UTF-8 is scrubbed too.
_DIGIT = rb"(?:[0-9]|\xef\xbc[\x90-\x99])"
_NUMBER_IN_BYTES = re.compile(
    # The first look-ahead only makes the search fast: it fails at once on most bytes.
    rb"(?=[0-9\xef])(?<![0-9])(?<!\xef\xbc[\x90-\x99])"
    + rb"[ -]?".join([_DIGIT + rb"{4}"] * 3)
    + rb"(?![0-9]|\xef\xbc[\x90-\x99])"
)
# A match with its look-ahead spans at most 41 bytes, its look-behind 3.
_SCRUB_TAIL, _SCRUB_BEHIND = 64, 3
SCRUB_PIECE = 1 << 20
_BOM = b"\xef\xbb\xbf"


def scrub_delivery(path: Path, max_line: int) -> int | None:
    """Blank every individual number in the delivery file ``path``, atomically. Lines longer
    than ``max_line`` bytes are blanked on their bytes, in pieces. Returns how many numbers
    were blanked, or None if the file cannot be rewritten (a read-only share). The file is
    streamed twice (once to count, once more to rewrite only if there is anything to blank)."""
    try:
        with path.open("rb") as fh:
            count = sum(n for _, n in scrubbed_lines(fh, max_line))
        if count:

            def write(out: BinaryIO) -> None:
                with path.open("rb") as fh:
                    for piece, _ in scrubbed_lines(fh, max_line):
                        out.write(piece)

            write_atomic(path, write, path.stat().st_mode & 0o777)
        return count
    except OSError:
        return None


def scrubbed_lines(fh: BinaryIO, max_line: int) -> Iterator[tuple[bytes, int]]:
    """The file's bytes with every number blanked, a line (or, for a long one, a piece) at a
    time, each with how many numbers it blanked."""
    while raw := fh.readline(max_line + 1):
        if len(raw) <= max_line or raw.endswith(b"\n"):
            yield scrub_line(raw)
            continue

        def rest(first: bytes = raw) -> Iterator[bytes]:
            yield first
            while piece := fh.readline(SCRUB_PIECE):
                yield piece
                if piece.endswith(b"\n"):
                    return

        yield from scrubbed_pieces(rest())


def scrub_line(raw: bytes) -> tuple[bytes, int]:
    """One line (with its line break, if any) without its numbers, and how many there were.
    A byte order mark before the line (the file's first) is kept as it is."""
    if raw.startswith(_BOM):
        line, count = scrub_line(raw[len(_BOM) :])
        return _BOM + line, count
    body = raw.rstrip(b"\r\n")
    ending = raw[len(body) :]
    try:
        text = body.decode("utf-8")
        obj = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        obj = None
    if not isinstance(obj, dict):
        return _scrub_bytes(raw)
    count = 0

    def to_null(match: re.Match) -> str:
        nonlocal count
        count += match.group(2) not in ('""', "null")
        return match.group(1) + "null"

    text = _NUMBER_VALUE.sub(to_null, text)
    spans = individual_numbers_in(text)
    for start, end in reversed(spans):
        text = text[:start] + text[end:]
    count += len(spans)
    if not _holds_no_number(text, obj):
        # An escaped key or digits (\u0031…) or a number outside a string: write the line
        # again from its values, without the numbers. Only such odd lines are reformatted.
        clean = {
            k: None if k == "individual_number" else _without_numbers(v) for k, v in obj.items()
        }
        text = json.dumps(clean, ensure_ascii=False)
        count = max(count, 1)
    return text.encode("utf-8") + ending, count


def _holds_no_number(text: str, before: dict) -> bool:
    """The rewritten line parses to the same keys, no individual_number, and no number in any
    value or in the text."""
    try:
        after = json.loads(text)
    except ValueError:
        return False
    return (
        isinstance(after, dict)
        and after.keys() == before.keys()
        and after.get("individual_number") is None
        and not individual_numbers_in(text)
        and all(_without_numbers(v) == v for v in after.values())
    )


def _without_numbers(value: Any) -> Any:
    if isinstance(value, str):
        for start, end in reversed(individual_numbers_in(value)):
            value = value[:start] + value[end:]
        return value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return None if individual_numbers_in(str(value)) else value
    if isinstance(value, list):
        return [_without_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_numbers(v) for k, v in value.items()}
    return value


def _scrub_bytes(raw: bytes) -> tuple[bytes, int]:
    return _NUMBER_IN_BYTES.subn(b"", raw)


def scrubbed_pieces(pieces: Iterable[bytes]) -> Iterator[tuple[bytes, int]]:
    """The bytes with every twelve-digit run blanked, piece by piece, each with how many it
    blanked. The same result as one substitution over the whole: a number across two pieces
    is held back until the next one."""
    buf, start = b"", 0  # buf[:start] was given out already: kept for the look-behind
    pieces = iter(pieces)
    while True:
        more = next(pieces, b"")
        buf += more
        # Everything before ``end`` can be decided now: a match starting there has its
        # whole span and look-ahead inside buf.
        end = max(start, len(buf) - _SCRUB_TAIL) if more else len(buf)
        parts, pos, count = [], start, 0
        for match in _NUMBER_IN_BYTES.finditer(buf, start):
            if match.start() >= end:
                break
            parts.append(buf[pos : match.start()])
            pos, count = match.end(), count + 1
        end = max(end, pos)
        parts.append(buf[pos:end])
        yield b"".join(parts), count
        if not more:
            return
        keep = max(0, end - _SCRUB_BEHIND)
        buf, start = buf[keep:], end - keep
