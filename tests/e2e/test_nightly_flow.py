"""The whole night, end to end: a real Prefect flow run against a real SQLite file (or the
module's own PostgreSQL database under `make test-postgres`), on a synthetic register and
delivery, run twice."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from tests.conftest import FONT_CACHE, PREFECT_HOME, TEST_KEY
from tests.helpers import ON_POSTGRES, database_bytes, db_env

RESIDENTS = 600
APPLICATIONS = 120


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """Generate data, import the register, run the nightly flow twice."""
    data = tmp_path_factory.mktemp("night") / "var"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KOFU_DATA_DIR", str(data))
        mp.setenv("KOFU_SECRET_KEY", TEST_KEY)
        for name, value in db_env(data).items():  # the module's own PostgreSQL database
            mp.setenv(name, value)
        FONT_CACHE.mkdir(exist_ok=True)
        (data / "fonts").mkdir(parents=True)
        for cached in FONT_CACHE.iterdir():
            (data / "fonts" / cached.name).symlink_to(cached)

        from kofu.base.settings import get_settings
        from kofu.flows.nightly import nightly
        from kofu.models.db import unit_of_work, upgrade_schema
        from kofu.tasks.demo.generator import write_demo_data
        from kofu.tasks.register.core import read_register
        from kofu.tasks.register.records import upsert_residents

        settings = get_settings()
        register_csv, truth = write_demo_data(
            data / "demo",
            seed=7,
            residents=RESIDENTS,
            applications=APPLICATIONS,
            submitted_on=date(2026, 11, 26),
        )
        upgrade_schema(settings.db_url)
        with unit_of_work(settings.db_url, write=True) as session:
            upsert_residents(session, read_register(register_csv, TEST_KEY.encode()))
            session.commit()

        first = nightly(inbox=str(truth.folder))
        files_after_first = _snapshot(
            settings.notices_dir, settings.letters_dir, settings.print_dir
        )
        second = nightly(inbox=str(truth.folder))
        files_after_second = _snapshot(
            settings.notices_dir, settings.letters_dir, settings.print_dir
        )
        yield {
            "settings": settings,
            "truth": truth,
            "first": first,
            "second": second,
            "files": (files_after_first, files_after_second),
            "register": register_csv,
            "env": {**os.environ},
        }


def _snapshot(*dirs: Path) -> dict[str, int]:
    return {
        str(p): p.stat().st_mtime_ns
        for d in dirs
        if d.exists()
        for p in d.rglob("*")
        if p.is_file()
    }


def _outcomes(settings, batch_id):
    from kofu.models.db import unit_of_work
    from kofu.tasks.reports.records import export_outcomes

    with unit_of_work(settings.db_url) as session:
        return {o["application_id"]: o for o in export_outcomes(session, batch_id)}


def test_every_application_ends_where_the_generator_says(night):
    truth, first = night["truth"], night["first"]
    outcomes = _outcomes(night["settings"], first["batch_id"])
    wrong = []
    for expected in truth.outcomes:
        got = outcomes.get(expected.application_id)
        if expected.expected_state == "rejected-line":
            if got is not None:
                wrong.append((expected.kind, "expected a rejected line", got))
            continue
        if (
            got is None
            or got["state"] != expected.expected_state
            or not set(expected.reasons) <= set(got["reasons"])
        ):
            wrong.append((expected.kind, expected.expected_state, expected.reasons, got))
    assert not wrong, wrong[:5]
    kinds = {o.kind for o in truth.outcomes}
    assert {"good", "bad-photo", "unknown", "moved-out", "malformed"} <= kinds


def test_notices_exist_for_exactly_the_matched_applications(night):
    settings, first = night["settings"], night["first"]
    outcomes = _outcomes(settings, first["batch_id"])
    with_notice = {a for a, o in outcomes.items() if o["state"] == "notice_generated"}
    assert with_notice and all("notice_pdf" in outcomes[a] for a in with_notice)
    assert all("notice_pdf" not in o for a, o in outcomes.items() if a not in with_notice)
    on_disk = sorted((settings.notices_dir / first["batch_id"]).glob("*.pdf"))
    assert len(on_disk) == len(with_notice)
    assert not list((settings.notices_dir / first["batch_id"]).glob("*.tmp*"))

    from kofu.models import Application, Notice, Resident
    from kofu.models.db import unit_of_work

    with unit_of_work(settings.db_url) as session:
        rows = session.execute(
            select(Notice.pdf_path, Resident.family_name, Resident.given_name, Resident.postal_code)
            .join(Application, Notice.application_pk == Application.id)
            .join(Resident, Application.resident_id == Resident.id)
        ).all()
    assert len(rows) == len(with_notice)
    for pdf_path, family, given, postal in rows[:15]:
        reader = PdfReader(pdf_path)
        assert len(reader.pages) == 1
        text = re.sub(r"\s+", "", reader.pages[0].extract_text())
        assert (
            "個人番号カード交付・電子証明書発行通知書" in text
            and f"{family}{given}" in text
            and postal in text
        )
        assert not re.search(r"\d{12}", text)


def test_print_batch_holds_every_notice_and_letter_sorted_by_postal_code(night):
    settings, first = night["settings"], night["first"]
    printed = first["this_run"]["print"]
    (pdf,) = [Path(f) for f in printed["files"]]  # 120 applications: one file of 1,000 sheets
    manifest = list(csv.DictReader(pdf.with_suffix(".csv").open(encoding="utf-8")))
    notices = list((settings.notices_dir / first["batch_id"]).glob("*.pdf"))
    letters = list((settings.letters_dir / first["batch_id"]).glob("*.pdf"))
    assert len(letters) == first["states"]["photo_rejected"] > 0
    # The cover sheet first, then one page per notice and letter.
    assert len(PdfReader(pdf).pages) - 1 == len(manifest) == len(notices) + len(letters)
    postal = [row["postal_code"] for row in manifest]
    assert postal == sorted(postal)
    assert [int(r["page"]) for r in manifest] == list(range(2, len(manifest) + 2))
    # Every notice is drawn again on the batch's canvas (one shared font subset); only the
    # letters are merged from their own PDFs.
    assert (printed["redrawn"], printed["merged"]) == (len(notices), len(letters))


def test_each_refused_photo_gets_a_letter_naming_its_reasons(night):
    from kofu.tasks.photos.problems import PROBLEMS

    settings, first = night["settings"], night["first"]
    refused = [
        o for o in _outcomes(settings, first["batch_id"]).values() if o["state"] == "photo_rejected"
    ]
    letters = {p.stem: p for p in (settings.letters_dir / first["batch_id"]).glob("*.pdf")}
    from kofu.models import Application, RefusalLetter
    from kofu.models.db import unit_of_work

    with unit_of_work(settings.db_url) as session:
        by_app = dict(
            session.execute(
                select(Application.application_id, RefusalLetter.letter_number).join(
                    RefusalLetter, RefusalLetter.application_pk == Application.id
                )
            ).all()
        )
    assert len(by_app) == len(refused) == len(letters)
    for outcome in refused:
        text = re.sub(
            r"\s+",
            "",
            PdfReader(letters[by_app[outcome["application_id"]]]).pages[0].extract_text(),
        )
        for code in outcome["reasons"]:
            if code in PROBLEMS:
                assert re.sub(r"\s+", "", PROBLEMS[code].message_ja) in text
        assert not re.search(r"\d{12}", text)


def test_second_run_changes_nothing(night):
    first, second = night["first"], night["second"]
    assert first["states"] == second["states"]
    assert second["this_run"]["intake"]["received"] == 0
    assert second["this_run"]["notices"] == {}
    assert second["this_run"]["print"]["files"] == []
    before, after = night["files"]
    assert before == after  # no file written, none added

    from kofu.models import Notice, PrintBatch
    from kofu.models.db import unit_of_work

    with unit_of_work(night["settings"].db_url) as session:
        assert session.scalar(select(func.count()).select_from(PrintBatch)) == 1
        notices = session.scalar(select(func.count()).select_from(Notice))
    assert notices == first["states"]["notice_generated"]


def test_status_json_matches_the_run_summary(night):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kofu.cli",
            "status",
            "--json",
            "--batch-id",
            night["first"]["batch_id"],
        ],
        env=night["env"],
        capture_output=True,
        text=True,
        check=True,
    )
    status = json.loads(out.stdout)
    for key in ("states", "rejected_lines", "failure_queue", "review_queue", "applications"):
        assert status[key] == night["second"][key]


def test_prefect_recorded_the_runs_and_the_summary_artifact(night):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowFilter,
        FlowFilterName,
    )

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["nightly-issuance"]))
        )
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["nightly-summary"]))
        )
    # The kill test's runs were killed (Crashed) on this server too: this night's completed.
    assert sum(r.state.is_completed() for r in runs) >= 2
    # Other tests publish this key too, some for a batch of the same name: one of the
    # artifacts must be this night's first run's, count for count.
    tables = [a.data if isinstance(a.data, list) else json.loads(a.data) for a in artifacts]
    published = [{row["state"]: row["count"] for row in table} for table in tables]
    expected = night["first"]["states"]
    assert any(all(p.get(state) == n for state, n in expected.items()) for p in published)


def _number_patterns(numbers: list[str]) -> list[bytes]:
    out = []
    for n in numbers:
        for form in (n, f"{n[:4]} {n[4:8]} {n[8:]}", f"{n[:4]}-{n[4:8]}-{n[8:]}"):
            out.append(form.encode())
            out.append(form.encode("utf-16-le"))
    return out


def test_no_individual_number_leaks_outside_the_delivery(night):
    truth = night["truth"]
    settings = night["settings"]
    numbers = list(truth.individual_numbers)
    with night["register"].open(encoding="utf-8") as fh:
        numbers += [r["individual_number"] for r in csv.DictReader(fh) if r["individual_number"]]
    assert len(numbers) > 100
    patterns = _number_patterns(sorted(set(numbers)))
    # Run logs reach Prefect's database from a background worker: send them all first, and
    # search what the API gives back as well as the database file.
    from prefect.client.orchestration import get_client
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    with get_client(sync_client=True) as client:
        logs = client.read_logs(limit=200)
        artifacts = client.read_artifacts(limit=200)
    assert len(logs) >= 10 and artifacts  # the search below has something to search
    recorded = "\n".join([log.message for log in logs] + [str(a.data) for a in artifacts])
    assert not [p for p in patterns if p in recorded.encode()], "a Prefect log or artifact"
    searched = 0
    roots = [settings.data_dir, PREFECT_HOME]
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            if truth.folder in path.parents or path == night["register"]:
                continue  # the input delivery and register are the only places numbers may be
            data = path.read_bytes()
            if path.suffix == ".pdf":
                # Page content is compressed: search the text a reader gets out too.
                text = "".join(page.extract_text() for page in PdfReader(path).pages)
                data += re.sub(r"\s+", "", text).encode()
            searched += 1
            hits = [p for p in patterns if p in data]
            assert not hits, f"{path} holds an individual number"
    assert searched > 20
    if ON_POSTGRES:  # on SQLite the database is one of the files above
        stored = database_bytes(settings.data_dir)
        assert not [p for p in patterns if p in stored], "the application database"
