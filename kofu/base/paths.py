"""Names and paths kofu writes under: a batch id is a name, never a path, and every file
kofu writes stays inside the data directory.

A batch id becomes a folder name (notices/<batch>/, print/<batch>/, letters/<batch>/). It
comes from a delivery folder's name, from ``--batch-id``, or from a Prefect UI "Custom run"'s
parameters, so each of those is checked here, before anything is written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from kofu.base.errors import UserError

BATCH_ID_MAX: Final = 64  # the batches.id column
# Letters, digits, ".", "_" and "-", starting with a letter or digit: no "/", no "\", no
# "..", no leading "." (a hidden folder), no spaces or control characters.
_BATCH_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def batch_id_problem(batch_id: str) -> str | None:
    """Why ``batch_id`` cannot be a batch id, or None when it can."""
    if not _BATCH_ID.fullmatch(batch_id) or ".." in batch_id:
        return (
            "must be a name, not a path: letters, digits, '.', '_' and '-' only, starting"
            " with a letter or digit"
        )
    if len(batch_id) > BATCH_ID_MAX:
        return f"is {len(batch_id)} characters long; at most {BATCH_ID_MAX}"
    return None


def check_batch_id(batch_id: str, where: str = "--batch-id") -> str:
    """``batch_id``, or a UserError naming ``where`` it came from and what is wrong."""
    problem = batch_id_problem(batch_id)
    if problem:
        shown = batch_id if len(batch_id) <= 80 else batch_id[:77] + "..."
        raise UserError(f"the batch id {shown!r} ({where}) {problem}")
    return batch_id


def check_text_path(path: Path, what: str) -> Path:
    """``path``, once it is sure to be UTF-8 text without control characters: what Prefect's
    parameters, the logs and a PostgreSQL text column can carry. A UserError otherwise."""
    from kofu.base.text import has_unprintable

    text = str(path.resolve())
    if has_unprintable(text):  # a byte that is not UTF-8 is a lone surrogate here (Cs)
        raise UserError(
            f"{what}'s path is not UTF-8 text or holds control characters:"
            " move the delivery to a plain path"
        )
    return path


def inside(root: Path, path: Path) -> Path:
    """``path``, once it is sure to lead inside ``root`` with every symlink followed; a
    UserError otherwise. Call it on each folder or file kofu is about to write."""
    base = root.resolve()
    target = path.resolve()
    if not target.is_relative_to(base):
        raise UserError(f"refusing to write {path}: it leads to {target}, outside {base}")
    return path
