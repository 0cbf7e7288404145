"""Tables, states and allowed transitions. Imports nothing from tasks or flows."""

from kofu.models.applications import Application, Batch, RejectedLine, transition
from kofu.models.audit import AuditEvent
from kofu.models.base import Base
from kofu.models.cards import Card, DestructionList, DestructionListItem, Reminder
from kofu.models.key_check import KeyCheck
from kofu.models.leases import RunLease
from kofu.models.notices import Notice, PrintBatch, RefusalLetter
from kofu.models.queues import FailureItem, ReviewItem
from kofu.models.residents import Resident
from kofu.models.states import (
    ApplicationState,
    FailureStatus,
    IllegalTransition,
    ResidentStatus,
    ReviewStatus,
    Stage,
    check_transition,
)
from kofu.models.visits import VisitWindow

__all__ = [
    "Application",
    "ApplicationState",
    "AuditEvent",
    "Base",
    "Batch",
    "Card",
    "DestructionList",
    "DestructionListItem",
    "FailureItem",
    "FailureStatus",
    "IllegalTransition",
    "KeyCheck",
    "Notice",
    "PrintBatch",
    "RefusalLetter",
    "RejectedLine",
    "Reminder",
    "Resident",
    "ResidentStatus",
    "RunLease",
    "ReviewItem",
    "ReviewStatus",
    "Stage",
    "VisitWindow",
    "check_transition",
    "transition",
]
