"""A person's decision on a review, on a real SQLite file."""

from datetime import UTC, date, datetime

import pytest

from kofu.base.errors import UserError
from kofu.models import Application, ApplicationState, AuditEvent, Batch, ReviewItem, Stage
from kofu.models.db import unit_of_work
from kofu.tasks.review.core import ReviewRefused
from kofu.tasks.review.records import resolve_review
from tests.helpers import aid

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def seed_review(db_url: str, stage: Stage, application_id: str = aid(3001)) -> None:
    with unit_of_work(db_url, write=True) as session:
        if session.get(Batch, "b") is None:
            session.add(Batch(id="b", inbox="/x", delivery_sha256="0" * 64))
            session.flush()
        app = Application(
            application_id=application_id,
            batch_id="b",
            line_no=1,
            state=ApplicationState.NEEDS_REVIEW,
            reasons=["background-not-plain"],
            birth_date=date(1990, 1, 1),
        )
        session.add(app)
        session.flush()
        session.add(ReviewItem(application_pk=app.id, stage=stage, reasons=["x"], evidence={}))
        session.commit()


def decide(db_url: str, application_id: str = aid(3001), **kw) -> ApplicationState:
    with unit_of_work(db_url, write=True) as session:
        decision = resolve_review(session, application_id, actor="clerk", now=NOW, **kw)
        session.commit()
        return decision.state


def test_a_borderline_photo_accepted_goes_on_to_matching(kofu_env):
    seed_review(kofu_env.db_url, Stage.PHOTOS)
    assert decide(kofu_env.db_url, accept=True) == ApplicationState.PHOTO_OK
    with unit_of_work(kofu_env.db_url) as session:
        audit = session.query(AuditEvent).one()
        item = session.query(ReviewItem).one()
    assert (audit.action, audit.actor, audit.detail["accept"]) == ("review-resolve", "clerk", True)
    assert (item.status, item.resolution) == ("resolved", "photo_ok")


def test_a_borderline_photo_refused_needs_a_code_the_letter_can_explain(kofu_env):
    seed_review(kofu_env.db_url, Stage.PHOTOS)
    with pytest.raises(UserError, match="--reject for a photo takes one of"):
        decide(kofu_env.db_url, reject_reason="looks-odd")
    with pytest.raises(UserError, match="about the photo"):
        decide(kofu_env.db_url, resident_code="10000000001")
    assert decide(kofu_env.db_url, reject_reason="blurred") == ApplicationState.PHOTO_REJECTED


def test_a_matching_review_cannot_be_accepted_blindly(kofu_env):
    seed_review(kofu_env.db_url, Stage.MATCHING)
    with pytest.raises(UserError, match="about matching"):
        decide(kofu_env.db_url, accept=True)
    assert decide(kofu_env.db_url, reject_reason="not-in-register") == ApplicationState.NO_MATCH


def test_only_applications_in_review_can_be_decided(kofu_env):
    with pytest.raises(UserError, match="no application"):
        decide(kofu_env.db_url, application_id=aid(999), accept=True)
    seed_review(kofu_env.db_url, Stage.PHOTOS)
    decide(kofu_env.db_url, accept=True)
    with pytest.raises(ReviewRefused, match="photo_ok, not needs_review") as refused:
        decide(kofu_env.db_url, accept=True)
    assert (refused.value.code, refused.value.application_id, refused.value.batch_id) == (
        "not-in-review",
        aid(3001),
        "b",
    )


def test_the_decision_event_says_who_decided_what_about_which_resident(kofu_env):
    from kofu.tasks.register.core import read_register
    from kofu.tasks.register.records import upsert_residents
    from tests.integration.test_register import ROW, write_csv

    with unit_of_work(kofu_env.db_url, write=True) as session:
        path = write_csv(kofu_env.data_dir / "r.csv", [{**ROW, "resident_code": "10000000001"}])
        upsert_residents(session, read_register(path, b"k" * 32))
        session.commit()
    seed_review(kofu_env.db_url, Stage.MATCHING)
    with unit_of_work(kofu_env.db_url, write=True) as session:
        resolve_review(
            session,
            aid(3001),
            resident_code="10000000001",
            actor="clerk-7",
            os_user="kofu-svc",
            now=NOW,
        )
        session.commit()
    with unit_of_work(kofu_env.db_url) as session:
        audit = session.query(AuditEvent).one()
    assert (audit.actor, audit.action, audit.batch_id, audit.application_id) == (
        "clerk-7",
        "review-resolve",
        "b",
        aid(3001),
    )
    assert audit.resident_code == "10000000001"
    assert audit.detail == {
        "decision": "resident",
        "stage": "matching",
        "state": "matched",
        "reason": None,
        "accept": False,
        "os_user": "kofu-svc",
    }


def test_a_number_typed_in_the_wrong_place_is_refused_and_not_repeated(kofu_env):
    """An individual number given as the resident code or inside a reason code is refused;
    the message does not repeat it, and nothing is written."""
    seed_review(kofu_env.db_url, Stage.MATCHING)
    number = "983205673214"
    with pytest.raises(ReviewRefused) as refused:
        decide(kofu_env.db_url, resident_code=number)
    assert refused.value.code == "bad-resident-code" and number not in str(refused.value)
    for reason in (number, f"typo-{number}"):
        with pytest.raises(ReviewRefused) as refused:
            decide(kofu_env.db_url, reject_reason=reason)
        assert refused.value.code == "bad-reason" and number not in str(refused.value)
        assert "not-in-register, identity-not-confirmed" in str(refused.value)
    with unit_of_work(kofu_env.db_url) as session:
        assert session.query(AuditEvent).count() == 0
        assert session.query(Application).one().state == ApplicationState.NEEDS_REVIEW


def test_naming_another_resident_on_a_duplicate_review_withdraws_nothing_silently(kofu_env):
    """A was held as R's duplicate. The person decides A is R2, who has a notice of their
    own in progress: nothing is withdrawn until the person decides again with both in view."""
    from sqlalchemy import select

    from kofu.models import Notice, Resident
    from tests.e2e.test_queues_flow import person
    from tests.helpers import import_register

    url = kofu_env.db_url
    rows = [
        person("10000000031", None, "山田", "花子", ("ヤマダ", "ハナコ"), "見本市中央1-1-1"),
        person("10000000032", None, "川口", "直子", ("カワグチ", "ナオコ"), "見本市中央2-2-2"),
    ]
    import_register(url, rows, kofu_env.data_dir / "r.csv", b"k" * 32)
    seed_review(url, Stage.MATCHING, aid(4001))
    with unit_of_work(url, write=True) as session:
        r1, r2 = session.scalars(select(Resident.id).order_by(Resident.resident_code)).all()
        a = session.scalars(
            select(Application).where(Application.application_id == aid(4001))
        ).one()
        a.resident_id = r1
        session.scalars(select(ReviewItem)).one().reasons = ["duplicate-application"]
        b = Application(
            application_id=aid(4002),
            batch_id="b",
            line_no=2,
            state="matched",
            reasons=[],
            resident_id=r1,
        )
        c = Application(
            application_id=aid(4003),
            batch_id="b",
            line_no=3,
            state="notice_generated",
            reasons=[],
            resident_id=r2,
        )
        session.add_all([b, c])
        session.flush()
        session.add(
            Notice(
                application_pk=c.id,
                notice_number="2026-00000003",
                pdf_path="/x",
                postal_code="999-0011",
                pickup_deadline=date(2027, 3, 1),
            )
        )
        session.commit()  # fmt: skip

    assert decide(url, aid(4001), resident_code="10000000032") == ApplicationState.NEEDS_REVIEW
    with unit_of_work(url) as session:
        got = dict(session.execute(select(Application.application_id, Application.state)).all())
    assert got == {aid(4001): "needs_review", aid(4002): "matched", aid(4003): "notice_generated"}
    # Decided again, for R2 with both in view: A stands, R2's other application goes.
    assert decide(url, aid(4001), resident_code="10000000032") == ApplicationState.MATCHED
    with unit_of_work(url) as session:
        got = dict(session.execute(select(Application.application_id, Application.state)).all())
        void = session.scalars(select(Notice.voided_at)).one()
    assert got == {aid(4001): "matched", aid(4002): "matched", aid(4003): "withdrawn"}
    assert void is not None
