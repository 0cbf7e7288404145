"""How long the sweep after the notice takes over many cards (tasks/lifecycle/records.py).

    .venv/bin/python bench/lifecycle_sweep.py [--cards 100000] [--chunk 500]

Builds a fresh SQLite file with the migrations and N mailed cards (one resident and one
current notice each), then sweeps them chunk by chunk, as the lifecycle flow's tasks do but
in this one process (no Prefect: its cost per task is known, docs/scale.md): first a quiet
night (nothing due: every card is read and decided, none moves), then the night after the
deadline (every card reminded), then that night again (nothing new). Prints each night's
time and cards per second.

Not a test: the numbers depend on the machine. docs/scale.md records them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kofu.base.settings import LifecycleSettings  # noqa: E402
from kofu.models import (  # noqa: E402
    Application,
    ApplicationState,
    Batch,
    Card,
    Notice,
    Resident,
    ResidentStatus,
)
from kofu.models.db import unit_of_work, upgrade_schema  # noqa: E402
from kofu.tasks.lifecycle.records import plan_sweep, sweep_chunk  # noqa: E402
from kofu.tasks.notices.addressee import addressee_digests  # noqa: E402

MAILED = date(2026, 12, 2)
DEADLINE = MAILED + timedelta(days=90)


class _Resident:
    family_name, given_name = "見本", "太郎"
    family_name_kana, given_name_kana = "ミホン", "タロウ"
    postal_code, address = "999-0011", "見本市中央1丁目2番3号"


def build(db_url: str, n: int) -> None:
    name, address = addressee_digests(_Resident())
    with unit_of_work(db_url, write=True) as session:
        session.add(Batch(id="2026-12-01", inbox="/bench", delivery_sha256="0" * 64))
        session.flush()
        for start in range(1, n + 1, 10_000):
            pks = range(start, min(start + 10_000, n + 1))
            session.execute(
                insert(Resident),
                [
                    {
                        "id": pk,
                        "resident_code": f"{pk:011d}",
                        "family_name": _Resident.family_name,
                        "given_name": _Resident.given_name,
                        "family_name_kana": _Resident.family_name_kana,
                        "given_name_kana": _Resident.given_name_kana,
                        "birth_date": date(1980, 4, 1),
                        "sex": "1",
                        "postal_code": _Resident.postal_code,
                        "address": _Resident.address,
                        "status": ResidentStatus.RESIDENT,
                        "name_key": "k",
                        "kana_key": "k",
                        "address_key": "k",
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
                        "batch_id": "2026-12-01",
                        "line_no": pk,
                        "state": ApplicationState.MAILED,
                        "reasons": [],
                        "resident_id": pk,
                    }
                    for pk in pks
                ],
            )
            session.execute(
                insert(Notice),
                [
                    {
                        "application_pk": pk,
                        "notice_number": f"2026-{pk:08d}",
                        "pdf_path": f"{pk}.pdf",
                        "postal_code": _Resident.postal_code,
                        "pickup_deadline": DEADLINE,
                        "issued_on": MAILED,
                        "name_digest": name,
                        "address_digest": address,
                    }
                    for pk in pks
                ],
            )
            session.execute(
                insert(Card),
                [{"application_pk": pk, "mailed_on": MAILED, "deadline": DEADLINE} for pk in pks],
            )
        session.commit()


def night(db_url: str, as_of: date, chunk: int, rules: LifecycleSettings) -> tuple[float, dict]:
    started = time.perf_counter()
    with unit_of_work(db_url) as session:
        chunks = plan_sweep(session, chunk)
    steps: Counter[str] = Counter()
    for pks in chunks:
        steps.update(sweep_chunk(db_url, pks, as_of, rules))
    return time.perf_counter() - started, dict(steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=500)
    args = parser.parse_args()
    rules = LifecycleSettings()
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade_schema(db_url)
        started = time.perf_counter()
        build(db_url, args.cards)
        print(f"{args.cards:,} mailed cards built in {time.perf_counter() - started:.1f} s")
        for label, as_of in (
            ("quiet night (nothing due)", DEADLINE),
            ("the night after the deadline (all reminded)", DEADLINE + timedelta(days=1)),
            ("that night again (nothing new)", DEADLINE + timedelta(days=1)),
        ):
            took, steps = night(db_url, as_of, args.chunk, rules)
            rate = args.cards / took if took else 0
            print(f"{label}: {took:.1f} s, {rate:,.0f} cards/s, steps {steps or 'none'}")


if __name__ == "__main__":
    main()
