"""How long the visit-window pass takes for a big night, and how the load spreads.

    .venv/bin/python bench/visit_windows.py [--applications 100000] [--nights 2]

Builds a fresh SQLite file with the migrations, adds N matched applications per night (one
resident each, submission times one second apart), and runs ``assign_visit_windows`` with
the sample settings' counter scaled to 20 desks (280 visits a day), one night after the
other, so the later nights also count the earlier bookings. Prints the time per night,
windows given, applications left to phone, and the busiest band.

Not a test: the numbers depend on the machine. The README records them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kofu.base.settings import SAMPLE_CONFIG, Municipality, load_municipality  # noqa: E402
from kofu.models import (  # noqa: E402
    Application,
    ApplicationState,
    Batch,
    Resident,
    ResidentStatus,
    VisitWindow,
)
from kofu.models.db import unit_of_work, upgrade_schema  # noqa: E402
from kofu.tasks.visits.records import assign_visit_windows  # noqa: E402

DESKS_SCALE = 20 / 3  # the sample's bands are sized for 3 desks


def add_night(db_url: str, batch_id: str, first_pk: int, n: int, submitted: datetime) -> None:
    with unit_of_work(db_url, write=True) as session:
        session.add(Batch(id=batch_id, inbox="/bench", delivery_sha256="0" * 64))
        session.flush()
        pks = range(first_pk, first_pk + n)
        session.execute(
            insert(Resident),
            [
                {
                    "id": pk,
                    "resident_code": f"{pk:011d}",
                    "family_name": "見本",
                    "given_name": "太郎",
                    "family_name_kana": "ミホン",
                    "given_name_kana": "タロウ",
                    "birth_date": date(1980, 4, 1),
                    "sex": "1",
                    "postal_code": "999-0011",
                    "address": "見本市中央1丁目2番3号",
                    "status": ResidentStatus.RESIDENT,
                    "name_key": "見本太郎",
                    "kana_key": "ミホンタロウ",
                    "address_key": "中央1-2-3",
                }
                for pk in pks
            ],
        )
        session.execute(
            insert(Application),
            [
                {
                    "id": pk,
                    "application_id": f"{pk:023d}",
                    "batch_id": batch_id,
                    "line_no": pk - first_pk + 1,
                    "state": ApplicationState.MATCHED,
                    "submitted_at": submitted + timedelta(seconds=pk - first_pk),
                    "resident_id": pk,
                }
                for pk in pks
            ],
        )
        session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--nights", type=int, default=2)
    args = parser.parse_args()

    sample = load_municipality(SAMPLE_CONFIG).model_dump()
    for band in sample["counters"][0]["bands"]:
        band["slots"] = round(band["slots"] * DESKS_SCALE)
    municipality = Municipality.model_validate(sample)
    per_day = sum(b.slots for b in municipality.counters[0].bands)
    print(f"{args.applications:,} applications a night, capacity {per_day} visits a day")

    with tempfile.TemporaryDirectory(prefix="kofu-bench-visits-") as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade_schema(db_url)
        issued_on = date(2026, 11, 26)
        for night in range(args.nights):
            batch_id = f"night-{night + 1}"
            submitted = datetime(2026, 11, 25, tzinfo=UTC) + timedelta(days=night)
            add_night(db_url, batch_id, night * args.applications + 1, args.applications, submitted)
            started = time.perf_counter()
            with unit_of_work(db_url, write=True) as session:
                counts = assign_visit_windows(
                    session, municipality, batch_id, issued_on + timedelta(days=night)
                )
                session.commit()
            took = time.perf_counter() - started
            print(
                f"{batch_id}: {took:.2f} s ({took / args.applications * 1e6:.1f} µs each),"
                f" {counts['assigned']:,} windows, {counts['no_window']:,} to phone"
            )
        with unit_of_work(db_url) as session:
            bands = session.execute(
                select(func.count())
                .select_from(VisitWindow)
                .group_by(VisitWindow.visit_date, VisitWindow.band_start)
            ).scalars()
            print(f"busiest band: {max(bands)} visits (its capacity: {per_day // 7})")


if __name__ == "__main__":
    main()
