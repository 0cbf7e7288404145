"""Configuration, built once at start-up and passed in explicitly.

Two sources:
- the environment (``KOFU_*``): where the database and data live, and the secret key;
- the municipality settings file (``KOFU_CONFIG``, TOML): name, counters, notice and photo rules.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kofu.base.errors import UserError
from kofu.base.photo_rules import PhotoRules

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CONFIG = REPO_ROOT / "config" / "municipality.sample.toml"


Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


class TimeBand(BaseModel):
    """A stretch of a counter's day offered as one visit window (来庁時間帯). Handing over a
    card takes about 30 minutes per person (DOMAIN.md), so slots = staff at the counter x
    the band's length / 30 minutes."""

    start: time
    end: time
    slots: int = Field(ge=0, le=1000)

    @model_validator(mode="after")
    def _starts_before_it_ends(self) -> TimeBand:
        if self.start >= self.end:
            raise ValueError(f"band {self.start:%H:%M}-{self.end:%H:%M} must start before it ends")
        return self


class PickupCounter(BaseModel):
    name: str
    address: str
    phone: str
    opens: time
    closes: time
    # Days the counter is closed, as weekday names (Mon..Sun).
    closed_weekdays: list[Weekday] = Field(default_factory=lambda: ["Sat", "Sun"])
    # The visit windows offered on each open day. A counter with none offers no windows:
    # its residents are told to book by phone.
    bands: list[TimeBand] = Field(default_factory=list)
    # Extra days off: building work, elections, a system change (YYYY-MM-DD).
    closed_dates: list[date] = Field(default_factory=list)
    # 国民の祝日 (with 振替休日 and 国民の休日): municipal offices close on them.
    closed_on_public_holidays: bool = True
    # 年末年始 12/29-1/3: the closure in every municipality's 休日条例.
    closed_at_year_end: bool = True
    # Days from the notice date to the first window offered: the notice travels by
    # ordinary mail (no weekend delivery) and the counter prepares the card.
    lead_days: int = Field(default=7, ge=0, le=60)
    # Postal codes this counter serves, by prefix ("100", "100-00"); empty: everyone.
    postal_prefixes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bands_fit_the_day(self) -> PickupCounter:
        if self.opens >= self.closes:
            raise ValueError("opens must be before closes")
        previous_end = self.opens
        for band in self.bands:
            if band.start < previous_end or band.end > self.closes:
                raise ValueError(
                    f"band {band.start:%H:%M}-{band.end:%H:%M} must lie within opening hours,"
                    " in order and without overlapping the band before"
                )
            previous_end = band.end
        for prefix in self.postal_prefixes:
            if not re.fullmatch(r"\d{1,3}|\d{3}-?\d{1,4}", prefix):
                raise ValueError(f"postal prefix {prefix!r} must be digits like 100 or 100-00")
        return self


def _distinct_names(counters: list[PickupCounter]) -> list[PickupCounter]:
    # Visit bookings are kept under the counter's name, so two counters cannot share one.
    names = [c.name for c in counters]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"two counters are named {name!r}")
    return counters


# At least one counter: the notice prints where to collect the card.
Counters = Annotated[list[PickupCounter], Field(min_length=1), AfterValidator(_distinct_names)]


# An A4 sheet folded in three (Z-fold) shows its top third through the window: the window
# must lie within it. 297 / 3 = 99 mm.
A4_WIDTH_MM, A4_FOLD_MM = 210.0, 99.0


class EnvelopeWindow(BaseModel):
    """Where the address window of the 長3 window envelope falls on the A4 sheet, in mm from
    the sheet's top-left corner, and how far the sheet may move inside the envelope.

    Makers differ, so measure the envelope in use. Defaults: a 90 × 45 mm window (Japan Post
    asks for at least 80 × 45 mm for an address window) about 20 mm from the left and 12 mm
    from the top of the folded sheet, as on common stock 長3 window envelopes (unverified)."""

    model_config = {"frozen": True}  # hashable: the renderer caches what it derives from it

    left_mm: float = Field(default=20.0, ge=0)
    top_mm: float = Field(default=12.0, ge=0)
    width_mm: float = Field(default=90.0, gt=0)
    height_mm: float = Field(default=45.0, gt=0)
    # How far the folded sheet can slide in any direction inside the envelope. Japan Post
    # requires the address and its barcode to stay inside the window whatever the shift, so
    # everything is printed this far inside the window's edges (and nothing else this far
    # outside them). 5 mm is common practice for a snug fold (unverified).
    shift_mm: float = Field(default=5.0, ge=0)

    @model_validator(mode="after")
    def _on_the_top_panel(self) -> EnvelopeWindow:
        if self.left_mm + self.width_mm > A4_WIDTH_MM:
            raise ValueError(f"the window must end within the sheet's {A4_WIDTH_MM:g} mm width")
        if self.top_mm + self.height_mm > A4_FOLD_MM:
            raise ValueError(
                f"the window must lie on the top third of the sheet ({A4_FOLD_MM:g} mm)"
            )
        if 2 * self.shift_mm >= min(self.width_mm, self.height_mm):
            raise ValueError("shift_mm leaves no room inside the window")
        return self


class NoticeSettings(BaseModel):
    # 交付期限: typically about three months after the notice.
    pickup_days: int = 90
    issuer_title: str = "市長"
    window: EnvelopeWindow = EnvelopeWindow()
    # The strip along each edge that the printer cannot ink (office lasers: about 4-5 mm).
    # The notice layout keeps 10 mm clear of every edge, so no printer above 10 mm can print it.
    printer_margin_mm: float = Field(default=5.0, ge=0, le=10)

    @model_validator(mode="after")
    def _window_is_printable(self) -> NoticeSettings:
        # The address prints from shift_mm inside the window: that must be printable.
        w = self.window
        inner = (w.left_mm + w.shift_mm, w.top_mm + w.shift_mm)
        if min(inner) < self.printer_margin_mm:
            raise ValueError("the address area inside the window falls in the printer margin")
        return self


class PrintSettings(BaseModel):
    """The merged print batches handed to the print shop ([print] in the settings file)."""

    # Sheets per batch file, the cover sheet included: issue 5 sets 1,000 as what the print
    # shop takes as one job; a smaller file also limits what one misprint costs.
    max_sheets: int = Field(default=1000, ge=2, le=10_000)
    # AES-256 encryption of the batch PDFs at rest; the password comes from the environment
    # (KOFU_PRINT_PASSWORD), never from this file.
    encrypt: bool = False


MATCHING_FIELDS = (
    "family",
    "given",
    "family_reading",
    "given_reading",
    "birth_date",
    "street",
    "postal_code",
    "sex",
)


class LevelWeights(BaseModel):
    """One field's Fellegi–Sunter weights, log2(m/u), per agreement level."""

    exact: float
    variant: float
    similar: float
    different: float

    @model_validator(mode="after")
    def _ordered(self) -> LevelWeights:
        if not self.exact >= self.variant >= self.similar >= self.different:
            raise ValueError("weights must not rise from exact to variant, similar, different")
        return self


class MatchingRules(BaseModel):
    """Overrides of the scored tier's defaults (tasks/matching/scoring.py, ScoringRules). Anything
    left out keeps kofu's default; README.md, "Matching", says what the defaults measure."""

    match_threshold: float | None = None
    match_margin: float | None = Field(default=None, ge=0)
    review_threshold: float | None = None
    weights: dict[str, LevelWeights] = {}

    @model_validator(mode="after")
    def _known(self) -> MatchingRules:
        unknown = sorted(set(self.weights) - set(MATCHING_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)}; known: {', '.join(MATCHING_FIELDS)}"
            )
        return self


class FailureRetry(BaseModel):
    """How the failure queue retries on its own (tasks/queues/records.py). An item that failed is
    taken again by the first nightly run after its next attempt time: ``first_delay_hours``
    after the first failure, doubling each time up to a day. After ``max_attempts`` failed
    runs it is dead: only a person's ``kofu rerun`` takes it again."""

    model_config = {"extra": "forbid"}  # a misspelt key is an error, not a silent default

    max_attempts: int = Field(default=3, ge=1, le=20)
    first_delay_hours: float = Field(default=1.0, gt=0, le=24)

    def delay(self, attempts: int) -> timedelta:
        """The wait before the next attempt, after ``attempts`` failed ones."""
        return timedelta(hours=min(self.first_delay_hours * 2 ** (attempts - 1), 24))


class LifecycleSettings(BaseModel):
    """After the notice ([lifecycle] in the settings file; docs/daily-work.md, "After the notice").
    The pickup deadline itself is ``[notice] pickup_days``, counted from the mailing."""

    model_config = {"extra": "forbid"}

    # The reminder's (再通知) new deadline: days from the reminder.
    reminder_pickup_days: int = Field(default=30, ge=1, le=365)
    # From the reminder until the card is due for destruction (交付中止): 90 days follows
    # the national notice of 2017.
    destruction_after_days: int = Field(default=90, ge=1, le=730)
    # The longest a staff hold may stop the clock, from the day it is set.
    max_hold_days: int = Field(default=365, ge=1, le=1095)

    @model_validator(mode="after")
    def _destruction_after_the_deadline(self) -> LifecycleSettings:
        if self.destruction_after_days < self.reminder_pickup_days:
            raise ValueError(
                "destruction_after_days must not come before the reminder's deadline"
                " (reminder_pickup_days)"
            )
        return self


class Municipality(BaseModel):
    name: str
    code: str = ""
    counters: Counters
    notice: NoticeSettings = NoticeSettings()
    photo: PhotoRules = PhotoRules()
    print: PrintSettings = PrintSettings()
    matching: MatchingRules = MatchingRules()
    failures: FailureRetry = FailureRetry()
    lifecycle: LifecycleSettings = LifecycleSettings()
    # Applications per Prefect task: each task run costs ~50 ms of orchestration,
    # so hundreds per chunk keep that under a few percent of the work.
    chunk_size: int = Field(default=500, ge=1, le=10_000)


def load_municipality(path: Path) -> Municipality:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"settings file not found: {path} (KOFU_CONFIG)") from None
    except IsADirectoryError:
        raise UserError(f"settings file {path} is a folder, not a file (KOFU_CONFIG)") from None
    except OSError as exc:  # no permission, a device that cannot be read
        raise UserError(
            f"cannot read the settings file {path}: {exc.strerror} (KOFU_CONFIG)"
        ) from None
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
    # Where deliveries arrive, one folder each (DESIGN.md): KOFU_INBOX, else data_dir/inbox.
    inbox: Path | None = None
    database_url: str | None = None
    config: Path = SAMPLE_CONFIG
    secret_key: str | None = Field(default=None, repr=False)
    secret_key_file: Path | None = None
    # Opens the encrypted print batches ([print] encrypt = true); see print_password().
    print_password: str | None = Field(default=None, repr=False)

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'kofu.sqlite3').resolve()}"

    @property
    def inbox_dir(self) -> Path:
        return self.inbox if self.inbox is not None else self.data_dir / "inbox"

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
    def reminders_dir(self) -> Path:
        return self.data_dir / "reminders"

    @property
    def destruction_dir(self) -> Path:
        return self.data_dir / "destruction"

    @property
    def stats_dir(self) -> Path:
        return self.data_dir / "stats"

    @property
    def prefect_home(self) -> Path:
        return self.data_dir / "prefect"

    @cached_property
    def municipality(self) -> Municipality:
        return load_municipality(self.config)


def get_settings() -> Settings:
    return Settings()


# AES-256 is only as strong as its password: a dictionary word falls to guessing quickly,
# 12 random characters do not.
MIN_PRINT_PASSWORD = 12


def print_password(settings: Settings) -> str | None:
    """The password for the batch PDFs, or None when they are not encrypted. Called before
    a run writes anything, so a missing password stops the run with one line."""
    if not settings.municipality.print.encrypt:
        return None
    password = settings.print_password or ""
    if not password:
        raise UserError(
            "[print] encrypt = true in the settings file, but KOFU_PRINT_PASSWORD is not set"
        )
    if len(password) < MIN_PRINT_PASSWORD:
        raise UserError(
            f"KOFU_PRINT_PASSWORD is too short: use at least {MIN_PRINT_PASSWORD} characters"
        )
    return password
