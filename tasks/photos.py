"""Photo stage: check each application's face photo against the upload rules.

``check_photo`` takes bytes and rules and returns problems with reason codes; it never raises
for a defect of the photo. A file that cannot be read at all (missing, permission) is the
system's problem, not the resident's: the stage sends it to the failure queue.
"""

from __future__ import annotations

import io
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps
from prefect import task

from kofu.db import unit_of_work
from kofu.settings import PhotoRules
from models import Application, ApplicationState, Batch, Stage, check_transition
from tasks.chunks import CHUNK_TASK_OPTIONS, Chunk, chunk_applications, with_db_retry
from tasks.queues import record_failure, resolve_failures

JPEG_MAGIC = b"\xff\xd8\xff"
# Refuse images whose pixel count would take gigabytes to decode (decompression bombs):
# the largest legal upload is 6000 x 6000.
MAX_PIXELS = 6000 * 6000
# Decoding at 1/8 scale (JPEG draft mode) is enough to prove the file decodes completely.
DRAFT_SCALE = 8


@dataclass(frozen=True)
class PhotoProblem:
    code: str
    message_ja: str
    message_en: str


PROBLEMS: dict[str, PhotoProblem] = {
    p.code: p
    for p in (
        PhotoProblem(
            "photo-not-jpeg",
            "写真はJPEG形式で提出してください",
            "The photo must be a JPEG file.",
        ),
        PhotoProblem(
            "photo-file-too-small",
            "写真のファイルサイズが小さすぎます（20KB以上にしてください）",
            "The photo file is too small (it must be at least 20 KB).",
        ),
        PhotoProblem(
            "photo-file-too-large",
            "写真のファイルサイズが大きすぎます（7MB以下にしてください）",
            "The photo file is too large (it must be at most 7 MB).",
        ),
        PhotoProblem(
            "photo-too-small-pixels",
            "写真の画素数が足りません（縦横とも480ピクセル以上にしてください）",
            "The photo is too small: each side must be at least 480 pixels.",
        ),
        PhotoProblem(
            "photo-too-large-pixels",
            "写真の画素数が多すぎます（縦横とも6000ピクセル以下にしてください）",
            "The photo is too large: each side must be at most 6000 pixels.",
        ),
        PhotoProblem(
            "photo-cmyk",
            "印刷用（CMYK）の画像は使えません。カラー（RGB）か白黒で保存してください",
            "CMYK images are not accepted: save the photo in colour (RGB) or black and white.",
        ),
        PhotoProblem(
            "photo-corrupt",
            "写真のファイルが壊れているため読み取れません。撮影し直してください",
            "The photo file is damaged and cannot be read: please take it again.",
        ),
    )
}


@dataclass(frozen=True)
class PhotoVerdict:
    problems: tuple[PhotoProblem, ...]
    measures: dict[str, int | str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]


# The seam for the quality checks (face, background, exposure, sharpness…): each takes the
# decoded, orientation-corrected image and the rules, and returns the problems it found.
QualityCheck = Callable[[Image.Image, PhotoRules], list[PhotoProblem]]
QUALITY_CHECKS: tuple[QualityCheck, ...] = ()


def check_photo(
    data: bytes, rules: PhotoRules, quality_checks: Sequence[QualityCheck] = QUALITY_CHECKS
) -> PhotoVerdict:
    found: list[str] = []
    measures: dict[str, int | str] = {"bytes": len(data)}
    if not data.startswith(JPEG_MAGIC):
        return PhotoVerdict((PROBLEMS["photo-not-jpeg"],), measures)
    if len(data) < rules.min_bytes:
        found.append("photo-file-too-small")
    if len(data) > rules.max_bytes:
        # Not decoded at all: the size alone refuses it, and it may be an attack.
        return _verdict(["photo-file-too-large"], measures)

    image = _open_checked(data, measures)
    if image is None:
        found.append("photo-corrupt")
        return _verdict(found, measures)
    width, height = image.size
    if image.format != "JPEG":
        found.append("photo-not-jpeg")
    if min(width, height) < rules.min_side_px:
        found.append("photo-too-small-pixels")
    if max(width, height) > rules.max_side_px:
        found.append("photo-too-large-pixels")
    if image.mode == "CMYK":
        found.append("photo-cmyk")
    if found:
        return _verdict(found, measures)

    decoded = _decode_reduced(image)
    if decoded is None:
        found.append("photo-corrupt")
        return _verdict(found, measures)
    problems = [PROBLEMS[c] for c in found]
    for check in quality_checks:
        problems.extend(check(decoded, rules))
    return PhotoVerdict(tuple(problems), measures)


def _verdict(codes: list[str], measures: dict[str, int | str]) -> PhotoVerdict:
    return PhotoVerdict(tuple(PROBLEMS[c] for c in dict.fromkeys(codes)), measures)


def _open_checked(data: bytes, measures: dict[str, int | str]) -> Image.Image | None:
    """Read the header only: size, mode and format, without decoding pixels."""
    try:
        image = Image.open(io.BytesIO(data))
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        return None
    measures.update(width=image.width, height=image.height, mode=image.mode)
    if image.width * image.height > MAX_PIXELS * 4:
        return None
    return image


def _decode_reduced(image: Image.Image) -> Image.Image | None:
    """Decode at reduced size (draft mode) to prove the file is whole, and apply EXIF
    orientation so that later checks see the picture the right way up."""
    try:
        image.draft("RGB", (image.width // DRAFT_SCALE, image.height // DRAFT_SCALE))
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
        return ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning):
        return None


class PhotoUnreadable(Exception):
    """The photo file could not be read (missing, permission, I/O): a technical failure."""

    code = "photo-file-unreadable"


def read_photo(folder: Path, relative: str, max_bytes: int) -> bytes:
    """Read at most one byte more than the limit: enough to tell "too large" without
    pulling a huge file into memory."""
    try:
        with (folder / relative).open("rb") as fh:
            return fh.read(max_bytes + 1)
    except OSError as exc:
        raise PhotoUnreadable(type(exc).__name__) from None


# --- The stage over a chunk of applications -------------------------------------------


@dataclass(frozen=True)
class _PhotoResult:
    application_pk: int
    verdict: PhotoVerdict | None
    error: BaseException | None = None


def check_photo_chunk(db_url: str, rules: PhotoRules, chunk: Chunk, now: datetime) -> Counter[str]:
    """received -> photo_ok | photo_rejected; unreadable files go to the failure queue."""
    with unit_of_work(db_url) as session:
        inbox = Path(session.get_one(Batch, chunk.batch_id).inbox)
        todo = [
            (app.id, app.photo)
            for app in chunk_applications(session, chunk, ApplicationState.RECEIVED)
        ]
    results = []
    for pk, photo in todo:
        try:
            verdict = check_photo(read_photo(inbox, photo or "", rules.max_bytes), rules)
            results.append(_PhotoResult(pk, verdict))
        except Exception as exc:  # a crash in a check is the system's problem, not the photo's
            results.append(_PhotoResult(pk, None, exc))
    return with_db_retry(lambda: _record_photo_results(db_url, chunk, results, now))


def _record_photo_results(
    db_url: str, chunk: Chunk, results: list[_PhotoResult], now: datetime
) -> Counter[str]:
    counts: Counter[str] = Counter()
    with unit_of_work(db_url, write=True) as session:
        for result in results:
            app = session.get_one(Application, result.application_pk)
            if app.state != ApplicationState.RECEIVED:
                continue  # someone else moved it on: a rerun is harmless
            if result.verdict is None:
                assert result.error is not None
                record_failure(session, chunk.batch_id, app.id, Stage.PHOTOS, result.error, now)
                counts["failed"] += 1
                continue
            target = (
                ApplicationState.PHOTO_OK if result.verdict.ok else ApplicationState.PHOTO_REJECTED
            )
            check_transition(app.state, target)
            app.state = target
            app.reasons = [*app.reasons, *result.verdict.codes]
            app.photo_measures = dict(result.verdict.measures)
            resolve_failures(session, app.id, Stage.PHOTOS)
            counts[target.value] += 1
        session.commit()
    return counts


@task(
    name="photos",
    task_run_name="{chunk.batch_id} photos {chunk.label}",
    **CHUNK_TASK_OPTIONS,
)
def check_photos_task(db_url: str, rules: PhotoRules, chunk: Chunk, now: datetime) -> dict:
    return dict(check_photo_chunk(db_url, rules, chunk, now))
