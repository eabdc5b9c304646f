"""Who may do what: one function decides from the principal, the action and the resource.

Every REST route and socket event names its ``Action``; ``ACCESS`` lists the roles allowed for
each, and a test fails if an action, route or event lacks an entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from server.errors import forbidden


class Role(StrEnum):
    CITIZEN = "citizen"
    LAWYER = "lawyer"
    MEDIATOR = "mediator"
    SUPERVISOR = "supervisor"
    CLERK = "clerk"
    # Someone invited to a mediation case (a party, agent, relative, expert, interpreter,
    # observer): the token is bound to one participant of one case.
    INVITEE = "invitee"
    # The one window's institutions (docs/one-window.md): each user belongs to one institution.
    LEGAL_AID = "legal_aid"  # 法律援助中心 staff
    NOTARY = "notary"
    ARBITRATOR = "arbitrator"  # arbitration commission (and appraisal institution) staff
    BUREAU = "bureau"  # 司法局: decides objections to legal-aid refusals
    WINDOW = "window"  # service-window staff and village legal advisors: file for citizens
    REFERRER = "referrer"  # 法院、公安: refer disputes to people's mediation (诉调、警调)


STAFF_ROLES = (Role.LAWYER, Role.MEDIATOR, Role.SUPERVISOR, Role.CLERK, Role.LEGAL_AID, Role.NOTARY,
               Role.ARBITRATOR, Role.BUREAU, Role.WINDOW, Role.REFERRER)
# Staff of an institution of the one window: they see its work queue.
INSTITUTION_ROLES = frozenset({Role.MEDIATOR, Role.LEGAL_AID, Role.NOTARY, Role.ARBITRATOR,
                               Role.BUREAU})


class Action(StrEnum):
    READ_CASE = "case.read"
    RESUME_CASE = "case.resume"
    LEAVE_QUEUE = "queue.leave"
    RATE_CASE = "case.rate"
    AGENT_RESUME = "agent.resume"
    SET_AVAILABILITY = "agent.availability"
    TAKE_NEXT = "queue.take_next"
    QUEUE_VIEW = "queue.view"
    WRITE_NOTES = "case.notes"
    END_CASE = "case.end"
    ROOM_CHAT = "room.chat"
    ROOM_NEGOTIATE = "room.negotiate"
    ROOM_HANGUP = "room.hangup"
    READ_METRICS = "metrics.read"
    REQUEST_CALLBACK = "queue.callback"
    ANSWER_OFFER = "queue.answer_offer"
    TRANSFER_CASE = "case.transfer"
    SUPERVISE = "queue.supervise"
    RECORDING_CONSENT = "recording.consent"
    RECORDING_VIEW = "recording.view"
    MEDIATION_CREATE = "mediation.create"
    MEDIATION_READ = "mediation.read"
    MEDIATION_MANAGE = "mediation.manage"
    MEDIATION_RESPOND = "mediation.respond"
    MEDIATION_JOIN = "mediation.join"
    MEDIATION_CONTROL = "mediation.control"
    MEDIATION_DOCUMENT = "mediation.document"
    MEDIATION_SUPERVISE = "mediation.supervise"
    AGREEMENT_READ = "agreement.read"
    AGREEMENT_EDIT = "agreement.edit"
    AGREEMENT_COMMENT = "agreement.comment"
    AGREEMENT_SIGN = "agreement.sign"
    AGREEMENT_APPLY = "agreement.apply"
    AGREEMENT_FOLLOW_UP = "agreement.follow_up"
    AGREEMENT_OVERDUE = "agreement.overdue"
    COURT_REVIEW = "court.review"
    COURT_DECIDE = "court.decide"
    SMS_MESSAGES = "sms.messages"
    DEV_OUTBOX = "dev.outbox"
    # The one window's applications (server/registry/): who takes part in which step is decided
    # by the flow (``Registry.actor_of``) after the role check here.
    APPLICATION_FILE_FOR = "application.file_for"
    APPLICATION_READ = "application.read"
    APPLICATION_ACT = "application.act"
    APPLICATION_QUEUE = "application.queue"
    APPLICATION_CLOCKS = "application.clocks"
    APPLICATION_ASSIGNED = "application.assigned"
    CITIZEN_CASES = "citizen.cases"
    RATE_SERVICE = "rating.rate"
    FOLLOW_UP = "rating.follow_up"
    QUALITY_DRAW = "quality.draw"
    QUALITY_REVIEW = "quality.review"
    REPORTS_READ = "reports.read"
    REPORTS_RUN = "reports.run"
    ALERTS_READ = "alerts.read"
    ALERTS_ACK = "alerts.ack"
    # Live assist (docs/early-warning.md): listen to a consultation unheard, or join it.
    ASSIST_LIVE = "assist.live"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``id`` is the user ID for staff and the case ID for citizens."""

    role: Role
    id: str
    name: str
    case_id: str | None = None

    @property
    def participant_id(self) -> str:
        # Also a file name in recordings: letters, digits and dashes only.
        return f"{self.role}-{self.id}"


@dataclass(frozen=True)
class CaseResource:
    """What the policy needs to know about a case: whose it is."""

    case_id: str
    lawyer_id: str | None
    # Clerks (user IDs) of the courts holding a submitted confirmation application for the case.
    clerk_ids: frozenset[str] = frozenset()


# Roles allowed per action; resource checks (own case, assigned lawyer) follow in ``require``.
ACCESS: dict[Action, frozenset[Role]] = {
    Action.READ_CASE: frozenset({Role.CITIZEN, Role.LAWYER, Role.SUPERVISOR}),
    Action.RESUME_CASE: frozenset({Role.CITIZEN}),
    Action.LEAVE_QUEUE: frozenset({Role.CITIZEN}),
    Action.RATE_CASE: frozenset({Role.CITIZEN}),
    Action.AGENT_RESUME: frozenset({Role.LAWYER}),
    Action.SET_AVAILABILITY: frozenset({Role.LAWYER}),
    Action.TAKE_NEXT: frozenset({Role.LAWYER}),
    # Who waits, without personal data (signaling.hotline.waiting): lawyers on the hotline.
    Action.QUEUE_VIEW: frozenset({Role.LAWYER}),
    Action.WRITE_NOTES: frozenset({Role.LAWYER}),
    Action.END_CASE: frozenset({Role.LAWYER}),
    Action.ROOM_CHAT: frozenset({Role.CITIZEN, Role.LAWYER}),
    Action.ROOM_NEGOTIATE: frozenset({Role.CITIZEN, Role.LAWYER}),
    Action.ROOM_HANGUP: frozenset({Role.CITIZEN, Role.LAWYER}),
    Action.READ_METRICS: frozenset({Role.SUPERVISOR}),
    Action.REQUEST_CALLBACK: frozenset({Role.CITIZEN}),
    Action.ANSWER_OFFER: frozenset({Role.LAWYER}),
    Action.TRANSFER_CASE: frozenset({Role.LAWYER}),
    Action.SUPERVISE: frozenset({Role.SUPERVISOR}),
    Action.RECORDING_CONSENT: frozenset({Role.CITIZEN, Role.LAWYER}),
    Action.RECORDING_VIEW: frozenset({Role.CITIZEN, Role.LAWYER, Role.MEDIATOR, Role.INVITEE,
                                      Role.SUPERVISOR}),
    Action.MEDIATION_CREATE: frozenset({Role.MEDIATOR}),
    Action.MEDIATION_READ: frozenset({Role.MEDIATOR, Role.SUPERVISOR, Role.INVITEE}),
    Action.MEDIATION_MANAGE: frozenset({Role.MEDIATOR}),
    Action.MEDIATION_RESPOND: frozenset({Role.INVITEE}),
    # Clerks: only in a confirmation session of a case with a submitted application at their
    # court (``CaseResource.clerk_ids``), as the presiding member.
    Action.MEDIATION_JOIN: frozenset({Role.MEDIATOR, Role.INVITEE, Role.CLERK}),
    Action.MEDIATION_CONTROL: frozenset({Role.MEDIATOR, Role.CLERK}),
    Action.MEDIATION_DOCUMENT: frozenset({Role.MEDIATOR, Role.INVITEE}),
    Action.MEDIATION_SUPERVISE: frozenset({Role.SUPERVISOR}),
    # Agreements (docs/agreements.md): nobody signs for anybody else, supervisors included.
    Action.AGREEMENT_READ: frozenset({Role.MEDIATOR, Role.SUPERVISOR, Role.INVITEE}),
    Action.AGREEMENT_EDIT: frozenset({Role.MEDIATOR}),
    Action.AGREEMENT_COMMENT: frozenset({Role.MEDIATOR, Role.INVITEE}),
    Action.AGREEMENT_SIGN: frozenset({Role.MEDIATOR, Role.INVITEE}),
    Action.AGREEMENT_APPLY: frozenset({Role.INVITEE}),
    Action.AGREEMENT_FOLLOW_UP: frozenset({Role.MEDIATOR}),
    Action.AGREEMENT_OVERDUE: frozenset({Role.SUPERVISOR}),
    Action.COURT_REVIEW: frozenset({Role.CLERK}),
    Action.COURT_DECIDE: frozenset({Role.CLERK}),
    Action.SMS_MESSAGES: frozenset({Role.SUPERVISOR}),
    # The local notifier's outbox (signing codes included): development only (PARLEY_DEV_OUTBOX).
    Action.DEV_OUTBOX: frozenset({Role.MEDIATOR, Role.SUPERVISOR}),
    Action.APPLICATION_FILE_FOR: frozenset({Role.WINDOW, Role.LAWYER, Role.REFERRER, Role.MEDIATOR,
                                            Role.LEGAL_AID}),
    Action.APPLICATION_READ: frozenset({Role.CITIZEN, Role.SUPERVISOR, Role.WINDOW, Role.LAWYER,
                                        Role.REFERRER, *INSTITUTION_ROLES}),
    Action.APPLICATION_ACT: frozenset({Role.CITIZEN, *INSTITUTION_ROLES}),
    Action.APPLICATION_QUEUE: INSTITUTION_ROLES,
    Action.APPLICATION_CLOCKS: frozenset({Role.SUPERVISOR}),
    # A legal-aid lawyer sees the applications assigned to them (they may be of any region).
    Action.APPLICATION_ASSIGNED: frozenset({Role.LAWYER}),
    Action.CITIZEN_CASES: frozenset({Role.CITIZEN}),
    # Who rates which case is checked per subject (server/ratings/api.py: RATER_CHECK_KEY).
    Action.RATE_SERVICE: frozenset({Role.CITIZEN, Role.INVITEE}),
    Action.FOLLOW_UP: frozenset({Role.SUPERVISOR}),
    Action.QUALITY_DRAW: frozenset({Role.SUPERVISOR}),
    # Reviewers (lawyers and supervisors) and the reviewed: rows are filtered by user.
    Action.QUALITY_REVIEW: frozenset({Role.SUPERVISOR, Role.LAWYER}),
    # Reports over time (docs/reports.md): supervisors only.
    Action.REPORTS_READ: frozenset({Role.SUPERVISOR}),
    Action.REPORTS_RUN: frozenset({Role.SUPERVISOR}),
    Action.ALERTS_READ: frozenset({Role.SUPERVISOR}),
    Action.ALERTS_ACK: frozenset({Role.SUPERVISOR}),
    # Of the consultation's region when the supervisor has one (signaling/consultations/assist).
    Action.ASSIST_LIVE: frozenset({Role.SUPERVISOR}),
}


def allowed(principal: Principal, action: Action, resource: CaseResource | None = None) -> bool:
    if principal.role not in ACCESS[action]:
        return False
    if resource is None or principal.role is Role.SUPERVISOR:
        return True
    if principal.role in (Role.CITIZEN, Role.INVITEE):
        return principal.case_id == resource.case_id
    if principal.role is Role.CLERK:
        return principal.id in resource.clerk_ids
    return resource.lawyer_id == principal.id


def require(principal: Principal, action: Action, resource: CaseResource | None = None) -> None:
    """Raise ``forbidden`` unless ``principal`` may perform ``action`` on ``resource``."""
    if not allowed(principal, action, resource):
        raise forbidden(f"不允许此操作 / {principal.role} may not {action}")
