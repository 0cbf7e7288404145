"""Tables, states and allowed transitions. Imports nothing from tasks or flows."""

from models.applications import Application, Batch, RejectedLine
from models.audit import AuditEvent
from models.base import Base
from models.key_check import KeyCheck
from models.leases import RunLease
from models.notices import Notice, PrintBatch, RefusalLetter
from models.queues import FailureItem, ReviewItem
from models.residents import Resident
from models.states import (
    ApplicationState,
    FailureStatus,
    IllegalTransition,
    ResidentStatus,
    ReviewStatus,
    Stage,
    check_transition,
)
from models.visits import VisitWindow

__all__ = [
    "Application",
    "ApplicationState",
    "AuditEvent",
    "Base",
    "Batch",
    "FailureItem",
    "FailureStatus",
    "IllegalTransition",
    "KeyCheck",
    "Notice",
    "PrintBatch",
    "RefusalLetter",
    "RejectedLine",
    "Resident",
    "ResidentStatus",
    "RunLease",
    "ReviewItem",
    "ReviewStatus",
    "Stage",
    "VisitWindow",
    "check_transition",
]
