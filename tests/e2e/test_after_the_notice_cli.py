"""After the notice through the CLI of docs/formats.md, on a real night's notices: `kofu mail`,
`kofu returns import|record`, a register import, `kofu lifecycle --as-of` (a real Prefect
flow run, which prints the reissued notice and the reminder into the batch's next print
file), `kofu pickup` with its refusals, `kofu hold`, `kofu destruction list|confirm`, and
the dates in `kofu export` and `kofu show`. Every refusal is one line; none echoes what
could be an individual number."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from kofu.base.clock import JST
from kofu.base.mynumber import check_digit
from tests.conftest import FONT_CACHE, TEST_KEY
from tests.e2e.test_cli import assert_one_line_error, kofu
from tests.helpers import compact_text, db_env

RESIDENTS = 400
APPLICATIONS = 40
TODAY = datetime.now(UTC).astimezone(JST).date()
SWEEP = TODAY + timedelta(days=1)


def _cli(desk, *args: str):  # type: ignore[no-untyped-def]
    return kofu(
        *args, env={"KOFU_SECRET_KEY": TEST_KEY, "KOFU_ACTOR": "窓口-1"}, tmp_path=desk["root"]
    )


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """A night's notices, mailed today, and the register as the delivery's."""
    root = tmp_path_factory.mktemp("after")
    data = root / "var"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KOFU_DATA_DIR", str(data))
        mp.setenv("KOFU_SECRET_KEY", TEST_KEY)
        for name, value in db_env(data).items():
            mp.setenv(name, value)
        (data / "fonts").mkdir(parents=True)
        for cached in FONT_CACHE.iterdir():
            (data / "fonts" / cached.name).symlink_to(cached)
        from kofu.base.settings import get_settings
        from kofu.flows.nightly import nightly
        from kofu.models.db import unit_of_work, upgrade_schema
        from kofu.tasks.demo.generator import write_demo_data
        from kofu.tasks.register.core import read_register
        from kofu.tasks.register.records import upsert_residents
        from kofu.tasks.reports.records import export_outcomes

        settings = get_settings()
        register_csv, truth = write_demo_data(
            data / "demo",
            seed=11,
            residents=RESIDENTS,
            applications=APPLICATIONS,
            submitted_on=TODAY,
        )
        upgrade_schema(settings.db_url)
        with unit_of_work(settings.db_url, write=True) as session:
            upsert_residents(session, read_register(register_csv, TEST_KEY.encode()))
            session.commit()
        night = nightly(inbox=str(truth.folder))
        with unit_of_work(settings.db_url) as session:
            outcomes = export_outcomes(session, night["batch_id"])
        cards = [o for o in outcomes if o["state"] == "notice_generated"]
        assert len(cards) >= 8
        yield {
            "root": root,
            "settings": settings,
            "batch": night["batch_id"],
            "cards": cards,
            "register": register_csv,
        }


def _register_with(path: Path, out: Path, changes: dict[str, dict]) -> Path:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        columns, rows = reader.fieldnames, list(reader)
    for row in rows:
        row.update(changes.get(row["resident_code"], {}))
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return out


def _export(desk) -> dict:  # type: ignore[no-untyped-def]
    done = _cli(desk, "export", "--batch-id", desk["batch"], "--json")
    assert done.returncode == 0, done.stderr
    return {o["application_id"]: o for o in json.loads(done.stdout)}


@pytest.fixture(scope="module")
def swept(desk):
    """Mailed today; three returns (a move within the city, the same address, a move out),
    a staff hold, and the register's changes; then the sweep as of tomorrow."""
    cards = desk["cards"]
    moved, same, gone, held = cards[0], cards[1], cards[2], cards[3]
    mail = _cli(desk, "mail", "--batch-id", desk["batch"])
    assert mail.returncode == 0, mail.stderr
    assert f"{len(cards)} notice(s) recorded as mailed" in mail.stdout
    again = _cli(desk, "mail", "--batch-id", desk["batch"])
    assert f"0 notice(s) recorded as mailed on {TODAY}" in again.stdout
    root = desk["root"]
    # The new address is another resident's, in the same city.
    with desk["register"].open(encoding="utf-8", newline="") as f:
        others = [
            r
            for r in csv.DictReader(f)
            if r["resident_code"] not in {c["resident_code"] for c in cards}
        ]
    changes = {
        moved["resident_code"]: {
            "postal_code": others[0]["postal_code"],
            "address": others[0]["address"],
        },
        gone["resident_code"]: {"status": "moved_out", "status_date": TODAY.isoformat()},
    }
    register = _register_with(desk["register"], root / "register-next.csv", changes)
    imported = _cli(desk, "residents", "import", str(register))
    assert imported.returncode == 0, imported.stderr
    returns = root / "returns.csv"
    returns.write_text(
        "notice_number,reason,returned_on\n"
        f"{moved['notice_number']},moved,{TODAY}\n"
        f"{same['notice_number']},not-collected,{TODAY}\n",
        encoding="utf-8",
    )
    done = _cli(desk, "returns", "import", str(returns))
    assert done.returncode == 0, done.stderr
    assert "2 recorded" in done.stdout
    recorded = _cli(desk, "returns", "record", gone["notice_number"], "--reason", "moved")
    assert recorded.returncode == 0, recorded.stderr
    until = (TODAY + timedelta(days=30)).isoformat()
    hold = _cli(desk, "hold", held["notice_number"], "--until", until, "--reason", "長期入院")
    assert hold.returncode == 0, hold.stderr
    sweep = _cli(desk, "lifecycle", "--as-of", SWEEP.isoformat())
    assert sweep.returncode == 0, sweep.stderr
    second = _cli(desk, "lifecycle", "--as-of", SWEEP.isoformat())
    assert second.returncode == 0, second.stderr
    return {
        "moved": moved,
        "same": same,
        "gone": gone,
        "held": held,
        "sweep": sweep.stdout,
        "second": second.stdout,
    }


def test_the_sweep_reissues_reminds_and_lists_for_destruction_once(desk, swept):
    assert "1 moved within the city" in swept["sweep"]
    assert "1 reminders" in swept["sweep"]
    assert "destruction list" in swept["sweep"]
    # The same day again: nothing moves.
    assert "card(s) looked at" in swept["second"]
    assert "moved within the city" not in swept["second"] and "reminders" not in swept["second"]
    outcomes = _export(desk)
    moved = outcomes[swept["moved"]["application_id"]]
    assert moved["state"] == "notice_generated"
    assert moved["notice_number"] == swept["moved"]["notice_number"] + "-2"
    assert moved["returned_on"] == TODAY.isoformat() and "mailed_on" not in moved
    same = outcomes[swept["same"]["application_id"]]
    assert same["state"] == "reminded" and same["reminded_on"] == SWEEP.isoformat()
    assert same["reminder_number"].startswith("RM")
    gone = outcomes[swept["gone"]["application_id"]]
    assert gone["state"] == "destruction_due" and gone["destruction_due_on"] == SWEEP.isoformat()
    assert outcomes[swept["held"]["application_id"]]["state"] == "on_hold"


def test_the_reissued_notice_and_the_reminder_are_printed_in_the_next_print_file(desk, swept):
    settings = desk["settings"]
    files = sorted((settings.print_dir / desk["batch"]).glob("print-batch-*.pdf"))
    assert len(files) == 2  # the night's, then the sweep's
    manifest = files[-1].with_suffix(".csv").read_text(encoding="utf-8")
    new_notice = swept["moved"]["notice_number"] + "-2"
    assert new_notice in manifest
    outcomes = _export(desk)
    reminder = outcomes[swept["same"]["application_id"]]["reminder_number"]
    assert reminder in manifest
    text = compact_text(files[-1].read_bytes())
    assert "再通知" in text and swept["same"]["notice_number"] in text
    # The first file is left as it was: the old notice is printed once, never again.
    assert swept["moved"]["notice_number"] + "-2" not in files[0].with_suffix(".csv").read_text()
    assert len(PdfReader(files[-1]).pages) == 3  # the cover, the notice, the reminder


def test_each_wrong_handover_is_refused_with_one_line_and_audited(desk, swept):
    refusals = {
        swept["moved"]["notice_number"]: "notice-reissued",
        swept["gone"]["notice_number"]: "resident-not-eligible",
        "2026-99999990": "unknown-notice",
    }
    for number, code in refusals.items():
        assert_one_line_error(_cli(desk, "pickup", number), code)
    # A mistyped individual number, in a notice number's 4-8 shape: refused, not echoed.
    eleven = "12345678901"
    number = f"{eleven}{check_digit(eleven)}"
    shaped = f"{number[:4]}-{number[4:]}"
    done = _cli(desk, "pickup", shaped)
    assert_one_line_error(done, "unknown-notice")
    assert number[4:] not in done.stderr + done.stdout
    ok = _cli(desk, "pickup", swept["same"]["notice_number"])
    assert ok.returncode == 0, ok.stderr
    assert_one_line_error(_cli(desk, "pickup", swept["same"]["notice_number"]), "already-picked-up")
    # A staff hold stops the clock only: the resident came, the card is handed over.
    assert _cli(desk, "pickup", swept["held"]["notice_number"]).returncode == 0
    from kofu.models import AuditEvent
    from kofu.models.db import unit_of_work

    with unit_of_work(desk["settings"].db_url) as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("card-hand%"))
        ).all()
    refused = [e for e in events if e.action == "card-handover-refused"]
    assert {e.detail["refusal"] for e in refused} >= set(refusals.values()) | {"already-picked-up"}
    assert all(e.actor == "窓口-1" for e in events)
    assert not any(number[4:] in json.dumps(e.detail) for e in events)
    outcomes = _export(desk)
    assert outcomes[swept["same"]["application_id"]]["picked_up_on"] == TODAY.isoformat()


def test_the_destruction_list_is_confirmed_once_and_the_card_is_then_destroyed(desk, swept):
    listed = _cli(desk, "destruction", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    body = json.loads(listed.stdout)
    assert [c["application_id"] for c in body["cards"]] == [swept["gone"]["application_id"]]
    assert body["cards"][0]["reason"] == "resident-moved-out"
    assert Path(body["pdf"]).is_file() and Path(body["csv"]).is_file()
    assert_one_line_error(_cli(desk, "destruction", "confirm", "abc"), "list id")
    assert_one_line_error(_cli(desk, "destruction", "confirm", "999"), "no destruction list 999")
    done = _cli(desk, "destruction", "confirm", str(body["list_id"]))
    assert done.returncode == 0, done.stderr
    assert "1 card(s) recorded destroyed" in done.stdout
    assert_one_line_error(
        _cli(desk, "destruction", "confirm", str(body["list_id"])), "confirmed already"
    )
    gone = _export(desk)[swept["gone"]["application_id"]]
    assert gone["state"] == "destroyed" and gone["destroyed_on"] == TODAY.isoformat()
    assert_one_line_error(_cli(desk, "pickup", swept["gone"]["notice_number"]), "card-destroyed")
    shown = _cli(desk, "show", swept["gone"]["application_id"])
    assert "after the notice" in shown.stdout and "destroyed: " in shown.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["mail", "--batch-id", "2099-01-01"], "no batch"),
        (["mail", "--batch-id", "../x"], "batch"),
        (["mail", "--batch-id", "2026-01-01", "--on", "2999-01-01"], "in the future"),
        (["mail", "--batch-id", "2026-01-01", "--on", "yesterday"], "must be a date"),
        (["returns", "record", "12345", "--reason", "moved"], "not a notice number"),
        (["returns", "record", "2026-00000001", "--reason", "lost"], "reason must be one of"),
        (["returns", "import", "/nonexistent.csv"], "no returns file"),
        (["pickup", "2026-00000001", "--on", "2999-01-01"], "in the future"),
        (["hold", "2026-00000001", "--until", "2000-01-01", "--reason", "x"], "not after today"),
        (["hold", "2026-00000001", "--until", "soon", "--reason", "x"], "must be a date"),
        (["lifecycle", "--as-of", "2026-02-30"], "as_of must be a date"),
    ],
)
def test_bad_input_gets_one_line(desk, args, needle):
    assert_one_line_error(_cli(desk, *args), needle)


def test_a_returns_file_with_one_bad_line_records_nothing(desk):
    bad = desk["root"] / "bad-returns.csv"
    number = desk["cards"][5]["notice_number"]
    bad.write_text(
        f"notice_number,reason,returned_on\n{number},moved,{TODAY}\n{number[:-1]}x,moved,{TODAY}\n",
        encoding="utf-8",
    )
    assert_one_line_error(_cli(desk, "returns", "import", str(bad)), "returns line 3")
    assert _export(desk)[desk["cards"][5]["application_id"]].get("returned_on") is None


def test_the_hold_reason_refuses_an_individual_number(desk):
    eleven = "98765432109"
    number = f"{eleven}{check_digit(eleven)}"
    until = (TODAY + timedelta(days=10)).isoformat()
    done = _cli(
        desk,
        "hold",
        desk["cards"][6]["notice_number"],
        "--until",
        until,
        "--reason",
        f"番号 {number}",
    )
    assert_one_line_error(done, "individual number")
    assert number not in done.stderr


def test_show_lists_every_notice_a_reissued_card_had(desk, swept):
    shown = _cli(desk, "show", swept["moved"]["application_id"])
    assert shown.returncode == 0, shown.stderr
    assert f"{swept['moved']['notice_number']} of" in shown.stdout
    assert "(void: reissued)" in shown.stdout and "(current)" in shown.stdout


def test_no_individual_number_in_what_the_commands_wrote(desk, swept):
    """The reminders, the reissued notice, the print files, the destruction list and its
    CSV, and the database: none holds an individual number of the delivery or register."""
    from tests.e2e.test_nightly_flow import _number_patterns
    from tests.helpers import ON_POSTGRES, database_bytes

    listed = _cli(desk, "destruction", "list", "--json")  # drawn, if not drawn before
    assert listed.returncode == 0, listed.stderr
    with desk["register"].open(encoding="utf-8") as fh:
        numbers = {r["individual_number"] for r in csv.DictReader(fh) if r["individual_number"]}
    assert len(numbers) > 100
    patterns = _number_patterns(sorted(numbers))
    data_dir = desk["settings"].data_dir
    searched = 0
    for path in data_dir.rglob("*"):
        if not path.is_file() or path.is_symlink() or (data_dir / "demo") in path.parents:
            continue  # the demo folder holds the delivery and the register: the input
        data = path.read_bytes()
        if path.suffix == ".pdf":
            text = "".join(page.extract_text() for page in PdfReader(path).pages)
            data += text.replace(" ", "").replace("\n", "").encode()
        searched += 1
        assert not [p for p in patterns if p in data], f"{path} holds an individual number"
    pdfs = [p.name for p in data_dir.rglob("*.pdf")]
    assert any(n.startswith("RM") for n in pdfs) and any(n.startswith("destruction") for n in pdfs)
    assert searched > 10
    if ON_POSTGRES:
        assert not [p for p in patterns if p in database_bytes(data_dir)]
