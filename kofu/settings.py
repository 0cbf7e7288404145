"""Configuration, built once at start-up and passed in explicitly.

Two sources:
- the environment (``KOFU_*``): where the database and data live, and the secret key;
- the municipality settings file (``KOFU_CONFIG``, TOML): name, counters, notice and photo rules.
"""

from __future__ import annotations

import tomllib
from datetime import time
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kofu.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CONFIG = REPO_ROOT / "config" / "municipality.sample.toml"


class Counter(BaseModel):
    name: str
    address: str
    phone: str
    opens: time
    closes: time
    # Days the counter is closed, as weekday names (Mon..Sun); holidays come in a later issue.
    closed_weekdays: list[str] = Field(default_factory=lambda: ["Sat", "Sun"])


class PhotoRules(BaseModel):
    """The upload rules. Hard rules refuse; each quality measure has a level that refuses
    (``*_fail``) and a milder level that sends the photo to a person (``*_review``).
    config/municipality.sample.toml says what each one guards against."""

    # DOMAIN.md hard rules for an online upload.
    min_bytes: int = 20 * 1024
    max_bytes: int = 7 * 1024 * 1024
    min_side_px: int = 480
    max_side_px: int = 6000
    # Face size: the square root of the face box's share of the picture.
    face_size_fail: float = 0.09
    face_size_review: float = 0.15
    # Face centre's distance from the middle, as a share of the picture width.
    face_offset_fail: float = 0.22
    face_offset_review: float = 0.13
    # Head tilt (roll) in degrees.
    tilt_fail_deg: float = 18.0
    tilt_review_deg: float = 11.0
    # Room between the top of the face box and the top of the picture, in face heights.
    space_above_fail: float = 0.3
    space_above_review: float = 0.5
    # Room between the bottom of the face box and the bottom of the picture, in face heights.
    space_below_fail: float = 0.18
    space_below_review: float = 0.4
    # Background around the head: share of edge pixels, and spread of its brightness.
    background_edges_fail: float = 0.08
    background_edges_review: float = 0.04
    background_spread_fail: float = 90.0
    background_spread_review: float = 60.0
    # Exposure of the face: mean brightness (0-255) and share of crushed or blown pixels.
    dark_fail: float = 70.0
    dark_review: float = 75.0
    dark_white_point: float = 150.0
    bright_fail: float = 235.0
    bright_review: float = 220.0
    clipped_fail: float = 0.3
    clipped_review: float = 0.12
    # Contrast of the face: brightness range between the 2nd and 98th percentiles.
    contrast_fail: float = 60.0
    contrast_review: float = 85.0
    # Sharpness of the face, scaled to a fixed width: variance of the Laplacian.
    sharpness_fail: float = 40.0
    sharpness_review: float = 50.0
    # Colour cast: distance (CIELAB a*b*) of the face's mean colour from the range of skin.
    colour_cast_fail: float = 12.0
    colour_cast_review: float = 7.0
    # The photo must be taken within the last 6 months (EXIF capture date).
    max_age_days: int = 183

    @model_validator(mode="after")
    def _review_is_milder(self) -> PhotoRules:
        """A review level lies between the passing values and the refusing level."""
        for name in ("face_size", "space_above", "space_below", "dark", "contrast", "sharpness"):
            if getattr(self, f"{name}_fail") > getattr(self, f"{name}_review"):
                raise ValueError(f"{name}_fail must not be above {name}_review")
        for name in (
            "face_offset",
            "background_edges",
            "background_spread",
            "bright",
            "clipped",
            "colour_cast",
        ):
            if getattr(self, f"{name}_fail") < getattr(self, f"{name}_review"):
                raise ValueError(f"{name}_fail must not be below {name}_review")
        if self.tilt_fail_deg < self.tilt_review_deg:
            raise ValueError("tilt_fail_deg must not be below tilt_review_deg")
        return self


class NoticeSettings(BaseModel):
    # 交付期限: typically about three months after the notice.
    pickup_days: int = 90
    issuer_title: str = "市長"


class Municipality(BaseModel):
    name: str
    code: str = ""
    counters: list[Counter]
    notice: NoticeSettings = NoticeSettings()
    photo: PhotoRules = PhotoRules()
    # Applications per Prefect task: each task run costs ~50 ms of orchestration,
    # so hundreds per chunk keep that under a few percent of the work.
    chunk_size: int = Field(default=250, ge=1, le=10_000)


def load_municipality(path: Path) -> Municipality:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"settings file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"settings file {path} is not valid TOML: {exc}") from None
    try:
        return Municipality.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"settings file {path}: {where}: {first['msg']}") from None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KOFU_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None
    config: Path = SAMPLE_CONFIG
    secret_key: str | None = Field(default=None, repr=False)
    secret_key_file: Path | None = None

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'kofu.sqlite3').resolve()}"

    @property
    def notices_dir(self) -> Path:
        return self.data_dir / "notices"

    @property
    def letters_dir(self) -> Path:
        return self.data_dir / "letters"

    @property
    def print_dir(self) -> Path:
        return self.data_dir / "print"

    @property
    def prefect_home(self) -> Path:
        return self.data_dir / "prefect"

    @cached_property
    def municipality(self) -> Municipality:
        return load_municipality(self.config)


def get_settings() -> Settings:
    return Settings()
