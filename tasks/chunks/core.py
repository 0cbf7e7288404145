"""A chunk of applications and the outcome of one application's work in it: values only.

Work moves in chunks (hundreds of applications) named by id bounds only, so nothing
personal crosses a Prefect task boundary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True)
class Chunk:
    batch_id: str
    first_pk: int
    last_pk: int
    index: int
    total: int

    @property
    def label(self) -> str:
        return f"{self.index}/{self.total}"


@dataclass(frozen=True)
class Outcome(Generic[V]):
    """What one application's work gave: a value for the stage to record, or the error that
    stopped it (the failure queue's). ``files`` are what the work wrote for it: removed again
    unless the chunk's write records them."""

    application_pk: int
    value: V | None = None
    error: BaseException | None = None
    files: tuple[Path, ...] = field(default=())
