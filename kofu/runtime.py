"""Process set-up done once before Prefect is imported: where Prefect keeps its records,
and a log filter that masks anything shaped like an individual number."""

from __future__ import annotations

import logging
import os
import re

from kofu.settings import Settings

_TWELVE_DIGITS = re.compile(r"(?<!\d)\d{4}[ -]?\d{4}[ -]?\d{4}(?!\d)")


def mask_individual_numbers(text: str) -> str:
    return _TWELVE_DIGITS.sub("[individual-number]", text)


def install_log_mask() -> None:
    """Mask 12-digit runs in every log record, whichever logger or handler it goes to."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "kofu_mask", False):
        return

    def masking_factory(*args, **kwargs):  # type: ignore[no-untyped-def]
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:
            return record
        masked = mask_individual_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    masking_factory.kofu_mask = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masking_factory)


def prepare_prefect(settings: Settings) -> None:
    """Keep Prefect's records beside kofu's data unless the operator pointed them elsewhere."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home.resolve()))
    # No analytics from a machine that holds residents' data (and no network to send them).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # The embedded server gets 20 s to start by default; a busy shared machine can take longer.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    install_log_mask()
