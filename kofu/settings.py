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

from pydantic import BaseModel, Field, ValidationError
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
    # DOMAIN.md hard rules for an online upload.
    min_bytes: int = 20 * 1024
    max_bytes: int = 7 * 1024 * 1024
    min_side_px: int = 480
    max_side_px: int = 6000


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
