"""After the notice, in the database (tasks/handover, returns, holds, lifecycle, destruction
records) on a real database built by the migrations, SQLite or PostgreSQL: each transition
of the sweep, each refusal of a handover, a return of each kind with its register change,
the reminder and destruction clocks with holds, and the destruction list's confirmation.

The cards are set up the way the stages leave them (a notice with its addressee digests,
mailed on a day); the register is then changed the way an import would change it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from kofu.base.errors import UserError
from kofu.base.settings import LifecycleSettings
from kofu.models import (
    Application,
    ApplicationState,
    AuditEvent,
    Batch,
    Card,
    Notice,
    Resident,
    ResidentStatus,
    ReviewItem,
    VisitWindow,
)
from kofu.models.db import unit_of_work
from kofu.tasks.handover.records import pickup
from kofu.tasks.holds.core import HoldRequest
from kofu.tasks.holds.records import hold_card
from kofu.tasks.lifecycle.records import plan_sweep, sweep_cards
from kofu.tasks.mailing.records import mail_batch
from kofu.tasks.notices.addressee import addressee_digests
from kofu.tasks.returns.core import ReturnRow
from kofu.tasks.returns.records import record_returns

S = ApplicationState
BATCH = "2026-12-01"
ISSUED = date(2026, 12, 1)
MAILED = date(2026, 12, 2)
PICKUP_DAYS = 90
RULES = LifecycleSettings(reminder_pickup_days=30, destruction_after_days=90, max_hold_days=365)
DEADLINE = MAILED + timedelta(days=PICKUP_DAYS)  # 2027-03-02


@dataclass
class Cards:
    db_url: str
    numbers: list[str]  # notice number of card n

    def state(self, n: int) -> ApplicationState:
        with unit_of_work(self.db_url) as session:
            return session.scalar(
                select(Application.state)
                .join(Notice)
                .where(Notice.notice_number == self.numbers[n])
            )

    def card(self, n: int) -> Card:
        with unit_of_work(self.db_url) as session:
            pk = session.scalar(
                select(Notice.application_pk).where(Notice.notice_number == self.numbers[n])
            )
            card = session.scalar(select(Card).where(Card.application_pk == pk))
            session.expunge(card)
            return card

    def resident(self, n: int, **change) -> None:
        """Change card n's resident in the register, as an import would."""
        with unit_of_work(self.db_url, write=True) as session:
            pk = session.scalar(
                select(Notice.application_pk).where(Notice.notice_number == self.numbers[n])
            )
            resident = session.get_one(Resident, session.get_one(Application, pk).resident_id)
            for field, value in change.items():
                setattr(resident, field, value)
            session.commit()

    def sweep(self, on: date) -> dict:
        with unit_of_work(self.db_url, write=True) as session:
            chunks = plan_sweep(session, 3)  # several chunks
            counts: dict = {}
            for pks in chunks:
                for step, k in sweep_cards(session, pks, on, RULES).items():
                    counts[step] = counts.get(step, 0) + k
            session.commit()
        return counts

    def hand_over(self, n: int, on: date):
        with unit_of_work(self.db_url, write=True) as session:
            done = pickup(session, self.numbers[n], on, actor="counter-1")
            session.commit()
        return done

    def returned(self, n: int, reason: str, on: date):
        with unit_of_work(self.db_url, write=True) as session:
            done = record_returns(session, [ReturnRow(self.numbers[n], reason, on)], actor="t")
            session.commit()
        return done[0]


def _cards(db_url: str, count: int) -> Cards:
    """``count`` residents with one printed, mailed notice each."""
    numbers = []
    with unit_of_work(db_url, write=True) as session:
        session.add(Batch(id=BATCH, inbox="inbox/" + BATCH, delivery_sha256="0" * 64))
        from kofu.models import PrintBatch

        sheet = PrintBatch(batch_id=BATCH, pdf_path="p.pdf", manifest_path="m.csv", page_count=1)
        session.add(sheet)
        for n in range(count):
            resident = Resident(
                resident_code=f"{n + 1:011d}",
                family_name="山田",
                given_name=f"太郎{n}",
                family_name_kana="ヤマダ",
                given_name_kana="タロウ",
                birth_date=date(1980, 1, 1),
                sex="1",
                postal_code="100-0001",
                address=f"見本市中央一丁目{n + 1}番",
                status=ResidentStatus.RESIDENT,
                name_key="k",
                kana_key="k",
                address_key="k",
            )
            session.add(resident)
            session.flush()
            app = Application(
                application_id=f"{n + 1:023d}",
                batch_id=BATCH,
                line_no=n + 1,
                state=S.NOTICE_GENERATED,
                reasons=[],
                resident_id=resident.id,
            )
            session.add(app)
            session.flush()
            name, address = addressee_digests(resident)
            number = f"2026-{app.id:08d}"
            session.add(
                Notice(
                    application_pk=app.id,
                    notice_number=number,
                    pdf_path=f"{number}.pdf",
                    postal_code=resident.postal_code,
                    pickup_deadline=ISSUED + timedelta(days=PICKUP_DAYS),
                    issued_on=ISSUED,
                    print_batch_id=sheet.id,
                    name_digest=name,
                    address_digest=address,
                )
            )
            numbers.append(number)
        session.flush()
        mail_batch(session, BATCH, MAILED, PICKUP_DAYS, actor="t")
        session.commit()
    return Cards(db_url, numbers)


def _events(db_url: str, action: str) -> list[dict]:
    with unit_of_work(db_url) as session:
        return [
            e.detail for e in session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        ]


def test_the_clock_reminds_once_after_the_deadline_then_makes_the_card_due(kofu_env):
    cards = _cards(kofu_env.db_url, 2)
    assert cards.sweep(DEADLINE) == {}  # the deadline day itself is still in time
    assert cards.sweep(DEADLINE + timedelta(days=1)) == {"remind": 2}
    assert cards.sweep(DEADLINE + timedelta(days=1)) == {}  # the same night again: nothing
    card = cards.card(0)
    assert (card.reminded_on, card.reminder_deadline) == (
        DEADLINE + timedelta(days=1),
        DEADLINE + timedelta(days=91),
    )
    assert cards.hand_over(1, DEADLINE + timedelta(days=10)).refused is None
    assert cards.sweep(DEADLINE + timedelta(days=91)) == {}
    assert cards.sweep(DEADLINE + timedelta(days=92)) == {"destruction-due": 1}
    assert cards.state(0) is S.DESTRUCTION_DUE and cards.state(1) is S.PICKED_UP
    assert cards.card(0).destruction_reason == "not-collected"


def test_a_staff_hold_stops_the_clock_and_moves_the_deadline_on_by_the_days_held(kofu_env):
    cards = _cards(kofu_env.db_url, 2)
    held_on, until = MAILED + timedelta(days=10), MAILED + timedelta(days=70)
    with unit_of_work(kofu_env.db_url, write=True) as session:
        hold_card(session, cards.numbers[0], HoldRequest(until, "入院中"), held_on, actor="t")
        session.commit()
    assert cards.state(0) is S.ON_HOLD
    assert cards.sweep(until) == {}  # held to the day given
    assert cards.sweep(until + timedelta(days=1)) == {"release-hold": 1}
    assert cards.state(0) is S.MAILED
    assert cards.card(0).deadline == DEADLINE + timedelta(days=61)  # held 61 days
    # The other card's clock ran on.
    assert cards.sweep(DEADLINE + timedelta(days=1)) == {"remind": 1}
    assert cards.state(0) is S.MAILED and cards.state(1) is S.REMINDED
    assert cards.sweep(DEADLINE + timedelta(days=62)) == {"remind": 1}


def test_a_register_change_holds_the_card_and_sends_it_to_destruction(kofu_env):
    cards = _cards(kofu_env.db_url, 4)
    cards.resident(0, status=ResidentStatus.MOVED_OUT)
    cards.resident(1, status=ResidentStatus.DECEASED)
    cards.resident(2, given_name="花子")  # a name change: a person decides
    steps = cards.sweep(MAILED + timedelta(days=5))
    assert steps == {"hold-for-register": 2, "destruction-due": 2, "hold-for-name": 1}
    assert [cards.state(n) for n in range(4)] == [
        S.DESTRUCTION_DUE,
        S.DESTRUCTION_DUE,
        S.ON_HOLD,
        S.MAILED,
    ]
    assert cards.card(0).destruction_reason == "resident-moved-out"
    assert cards.card(1).destruction_reason == "resident-deceased"
    with unit_of_work(kofu_env.db_url) as session:
        review = session.scalars(select(ReviewItem)).all()
        assert [(r.stage.value, r.reasons) for r in review] == [
            ("lifecycle", ["register-name-changed"])
        ]
    # Held for the register: not handed over, and its clock does not run.
    refused = cards.hand_over(2, MAILED + timedelta(days=6)).refused
    assert refused is not None and refused.code == "card-on-hold"
    assert cards.sweep(DEADLINE + timedelta(days=1)) == {"remind": 1}  # only card 3


def test_a_return_of_each_kind_is_decided_by_the_register(kofu_env):
    db_url = kofu_env.db_url
    cards = _cards(db_url, 4)
    back = MAILED + timedelta(days=7)
    for n, reason in enumerate(["moved", "moved", "unknown-address", "not-collected"]):
        assert cards.returned(n, reason, back).outcome == "recorded"
    assert cards.returned(0, "moved", back).outcome == "already"
    cards.resident(0, postal_code="100-0002", address="見本市北二丁目5番")  # moved within
    cards.resident(1, status=ResidentStatus.MOVED_OUT)  # moved out
    with unit_of_work(db_url, write=True) as session:
        pk = session.scalar(
            select(Notice.application_pk).where(Notice.notice_number == cards.numbers[0])
        )
        session.add(
            VisitWindow(
                application_pk=pk,
                counter="本庁舎",
                visit_date=date(2026, 12, 20),
                band_start=time(9),
                band_end=time(10),
            )
        )
        session.commit()
    steps = cards.sweep(back + timedelta(days=1))
    assert steps == {"reissue": 1, "hold-for-register": 1, "destruction-due": 1, "remind": 2}
    assert [cards.state(n) for n in range(4)] == [
        S.MATCHED,  # waits for its next notice, to the new address
        S.DESTRUCTION_DUE,
        S.REMINDED,
        S.REMINDED,
    ]
    with unit_of_work(db_url) as session:
        old = session.scalar(select(Notice).where(Notice.notice_number == cards.numbers[0]))
        assert old.voided_at is not None and old.void_reason == "reissued"
        assert session.scalar(select(func.count()).select_from(VisitWindow)) == 0
    # The returned, reissued notice can never be handed over, nor recorded returned again.
    refused = cards.hand_over(0, back + timedelta(days=2)).refused
    assert refused is not None and refused.code == "notice-reissued"
    assert cards.returned(0, "moved", back).outcome == "already"
    # Reminded after a return: a second return goes back to the reminder's clock.
    assert cards.returned(3, "not-collected", back + timedelta(days=20)).outcome == "recorded"
    assert cards.sweep(back + timedelta(days=21)) == {"back-to-clock": 1}
    assert cards.state(3) is S.REMINDED
    # The unknown address, never collected, goes to destruction with that reason.
    assert cards.sweep(back + timedelta(days=1 + 91)) == {"destruction-due": 2}
    assert cards.card(2).destruction_reason == "returned-unknown-address"
    assert cards.card(3).destruction_reason == "not-collected"


def test_a_return_that_cannot_be_is_refused_alone(kofu_env):
    cards = _cards(kofu_env.db_url, 3)
    assert cards.hand_over(1, MAILED + timedelta(days=3)).refused is None
    with unit_of_work(kofu_env.db_url, write=True) as session:
        done = record_returns(
            session,
            [
                ReturnRow("2026-99999999", "moved", MAILED),
                ReturnRow(cards.numbers[1], "moved", MAILED + timedelta(days=4)),
                ReturnRow(cards.numbers[2], "moved", MAILED - timedelta(days=1)),
                ReturnRow(cards.numbers[0], "moved", MAILED + timedelta(days=4)),
            ],
            actor="t",
        )
        session.commit()
    assert [(r.outcome, r.why) for r in done] == [
        ("refused", "no notice has it"),
        ("refused", "the card was handed over"),
        ("refused", "returned before it was mailed"),
        ("recorded", None),
    ]


def test_every_refusal_of_a_handover_is_one_line_and_audited(kofu_env):
    db_url = kofu_env.db_url
    cards = _cards(db_url, 5)
    on = MAILED + timedelta(days=3)
    assert cards.hand_over(0, on).refused is None
    cards.returned(1, "not-collected", on)
    cards.resident(2, status=ResidentStatus.REMOVED)
    refusals = {
        "already-picked-up": cards.hand_over(0, on),
        "notice-returned": cards.hand_over(1, on),
        "resident-not-eligible": cards.hand_over(2, on),
    }
    with unit_of_work(db_url, write=True) as session:
        unknown = pickup(session, "2026-99999999", on, actor="counter-1")
        session.commit()
    refusals["unknown-notice"] = unknown
    for code, done in refusals.items():
        assert done.refused is not None and done.refused.code == code, code
        assert "\n" not in done.refused.message
    handed = _events(db_url, "card-handed-over")
    refused = _events(db_url, "card-handover-refused")
    assert [e["notice_number"] for e in handed] == [cards.numbers[0]]
    assert sorted(e["refusal"] for e in refused) == sorted(refusals)
    assert cards.card(0).picked_up_on == on


def test_the_destruction_list_is_drawn_confirmed_and_refused_when_out_of_date(kofu_env, font_name):
    from kofu.tasks.destruction.records import confirm_list, draw_list

    db_url = kofu_env.db_url
    cards = _cards(db_url, 3)
    for n in range(3):
        cards.resident(n, status=ResidentStatus.MOVED_OUT)
    cards.sweep(MAILED + timedelta(days=1))
    day = MAILED + timedelta(days=2)

    def draw():
        with unit_of_work(db_url, write=True) as session:
            drawn = draw_list(session, kofu_env, day, font_name, actor="t")
            session.commit()
        return drawn

    first = draw()
    assert first is not None and (first.cards, first.new) == (3, True)
    assert first.pdf_path.is_file() and first.csv_path.is_file()
    again = draw()
    assert (again.list_id, again.new) == (first.list_id, False)
    # A card on the list can still be handed over until it is confirmed ... (a staff
    # correction of the register brought the resident back)
    cards.resident(1, status=ResidentStatus.RESIDENT)
    assert cards.hand_over(1, day).refused is None
    # ... and the list is then out of date: confirming it is refused, nothing changes.
    with unit_of_work(db_url, write=True) as session, pytest.raises(UserError, match="out of date"):
        confirm_list(session, first.list_id, day, actor="t")
    assert cards.state(0) is S.DESTRUCTION_DUE
    second = draw()
    assert second.list_id != first.list_id and second.cards == 2
    with unit_of_work(db_url, write=True) as session:
        assert confirm_list(session, second.list_id, day, actor="t") == 2
        session.commit()
    assert [cards.state(n) for n in range(3)] == [S.DESTROYED, S.PICKED_UP, S.DESTROYED]
    assert cards.card(0).destroyed_on == day
    with unit_of_work(db_url, write=True) as session, pytest.raises(UserError, match="confirmed"):
        confirm_list(session, second.list_id, day, actor="t")
    refused = cards.hand_over(0, day).refused
    assert refused is not None and refused.code == "card-destroyed"
    assert draw() is None  # nothing due any more


def test_a_card_held_for_a_name_change_is_decided_by_a_person(kofu_env):
    from datetime import UTC, datetime

    from kofu.tasks.review.core import ReviewRefused
    from kofu.tasks.review.records import resolve_review

    db_url = kofu_env.db_url
    cards = _cards(db_url, 3)
    cards.resident(0, family_name="佐藤", family_name_kana="サトウ")
    cards.resident(1, family_name="佐藤", family_name_kana="サトウ")
    assert cards.sweep(MAILED + timedelta(days=1)) == {"hold-for-name": 2}
    now = datetime(2026, 12, 5, 1, tzinfo=UTC)

    def resolve(n: int, **decision):
        with unit_of_work(db_url, write=True) as session:
            app_id = session.scalar(
                select(Application.application_id)
                .join(Notice)
                .where(Notice.notice_number == cards.numbers[n])
            )
            done = resolve_review(session, app_id, actor="t", now=now, **decision)
            session.commit()
        return done

    with pytest.raises(ReviewRefused, match="resident 00000000001's"):
        resolve(0, resident_code="00000000002")
    with pytest.raises(ReviewRefused, match="must be one of"):
        resolve(1, reject_reason="no-such-reason")
    assert resolve(0, resident_code="00000000001").state is S.MAILED
    assert resolve(1, reject_reason="identity-not-confirmed").state is S.DESTRUCTION_DUE
    assert cards.card(1).destruction_reason == "identity-not-confirmed"
    # The new name is the resident's now: the sweep does not hold the card again.
    assert cards.sweep(MAILED + timedelta(days=2)) == {}
    assert cards.hand_over(0, MAILED + timedelta(days=3)).refused is None
    with unit_of_work(db_url) as session:
        open_items = session.scalars(select(ReviewItem).where(ReviewItem.status == "open")).all()
        assert open_items == []
    # Not held, not in review: the review command refuses, as before.
    with pytest.raises(ReviewRefused, match="not needs_review"):
        resolve(2, accept=True)


def test_the_rarer_steps_a_card_not_yet_mailed_and_a_return_during_a_staff_hold(kofu_env):
    db_url = kofu_env.db_url
    cards = _cards(db_url, 3)
    with unit_of_work(db_url, write=True) as session:
        # Cards 0 and 1 were printed but their mailing was never recorded.
        for number in cards.numbers[:2]:
            pk = session.scalar(select(Notice.application_pk).where(Notice.notice_number == number))
            app = session.get_one(Application, pk)
            app.state = S.NOTICE_GENERATED  # the fixture mailed them: undo it, as if not
            card = session.scalar(select(Card).where(Card.application_pk == pk))
            card.mailed_on = card.deadline = None
        session.commit()
    # The resident brings the notice anyway: it reached them, the card is handed over.
    assert cards.hand_over(0, MAILED).refused is None
    # A register change before the mailing holds the card all the same.
    cards.resident(1, status=ResidentStatus.DECEASED)
    assert cards.sweep(MAILED + timedelta(days=1)) == {
        "hold-for-register": 1,
        "destruction-due": 1,
    }
    # A return that arrives while a staff hold stops the clock ends the hold.
    with unit_of_work(db_url, write=True) as session:
        until = MAILED + timedelta(days=40)
        hold_card(session, cards.numbers[2], HoldRequest(until, "入院"), MAILED, actor="t")
        session.commit()
    assert cards.returned(2, "not-collected", MAILED + timedelta(days=5)).outcome == "recorded"
    assert cards.state(2) is S.RETURNED and cards.card(2).hold_kind is None
    assert cards.sweep(MAILED + timedelta(days=6)) == {"remind": 1}


def test_a_card_that_cannot_be_moved_is_left_and_the_others_go_on(kofu_env):
    db_url = kofu_env.db_url
    cards = _cards(db_url, 3)
    on = MAILED + timedelta(days=1)
    with unit_of_work(db_url, write=True) as session:
        hold_card(session, cards.numbers[1], HoldRequest(on, "入院"), MAILED, actor="t")
        session.commit()
    with unit_of_work(db_url, write=True) as session:
        # Bad data (by hand, in the database): the state the hold came from is no state.
        pk = session.scalar(
            select(Notice.application_pk).where(Notice.notice_number == cards.numbers[1])
        )
        session.scalar(select(Card).where(Card.application_pk == pk)).held_from = "bogus"
        session.commit()
    # Every card past its deadline: the two good ones are reminded, the bad one is left.
    assert cards.sweep(DEADLINE + timedelta(days=1)) == {"remind": 2, "failed": 1}
    assert [cards.state(n) for n in range(3)] == [S.REMINDED, S.ON_HOLD, S.REMINDED]
    assert cards.card(1).held_from == "bogus"  # rolled back to as it was, nothing half-done
