"""Every route and socket event names an action, and the policy answers for every role."""

from __future__ import annotations

import pytest

from recordings.api import RECORDING_ROUTES
from server.api import ROUTES
from server.citizens.api import CITIZEN_ROUTES
from server.notifications.api import NOTIFICATION_ROUTES
from server.notifications.sms_api import SMS_ROUTES
from server.policy import ACCESS, Action, CaseResource, Principal, Role, allowed
from server.quality.api import QUALITY_ROUTES
from server.ratings.api import RATING_ROUTES
from server.registry.api import ROUTES as REGISTRY_ROUTES
from server.rest import actions
from signaling.agreements.api import AGREEMENT_ROUTES
from signaling.agreements.events import AGREEMENT_EVENTS
from signaling.alerts.api import ALERT_ROUTES
from signaling.app.api import APP_ROUTES
from signaling.consultations.assist_events import ASSIST_EVENTS
from signaling.court.api import COURT_ROUTES
from signaling.events import EVENTS
from signaling.hotline.api import HOTLINE_ROUTES
from signaling.mediation.api import MEDIATION_ROUTES
from signaling.mediation.events import MEDIATION_EVENTS
from signaling.recording.events import RECORDING_EVENTS


def test_every_action_has_an_access_entry() -> None:
    assert set(ACCESS) == set(Action)


def test_every_event_and_route_is_covered() -> None:
    for event, action in {**EVENTS, **MEDIATION_EVENTS, **AGREEMENT_EVENTS,
                          **RECORDING_EVENTS, **ASSIST_EVENTS}.items():
        assert action in ACCESS, event
    for route, route_action in actions((*ROUTES, *HOTLINE_ROUTES, *APP_ROUTES,
                                        *MEDIATION_ROUTES, *AGREEMENT_ROUTES, *COURT_ROUTES,
                                        *RECORDING_ROUTES, *REGISTRY_ROUTES, *CITIZEN_ROUTES,
                                        *RATING_ROUTES, *QUALITY_ROUTES, *NOTIFICATION_ROUTES,
                                        *SMS_ROUTES, *ALERT_ROUTES)).items():
        assert route_action is None or route_action in ACCESS, route


def test_registered_routes_match_the_table(settings: object) -> None:
    from signaling.app.factory import create_app

    app = create_app(settings)  # type: ignore[arg-type]
    registered = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None and r.resource.canonical.startswith(("/api", "/healthz", "/metrics"))
        and r.method != "HEAD"
    }
    assert registered == set(actions((*ROUTES, *HOTLINE_ROUTES, *APP_ROUTES, *MEDIATION_ROUTES,
                                      *AGREEMENT_ROUTES, *COURT_ROUTES, *RECORDING_ROUTES,
                                      *REGISTRY_ROUTES, *CITIZEN_ROUTES, *RATING_ROUTES,
                                      *QUALITY_ROUTES, *NOTIFICATION_ROUTES,
                                      *SMS_ROUTES, *ALERT_ROUTES)))


# The expected matrix, written out: which roles may perform each action at all.
EXPECTED = {
    Action.READ_CASE: {"citizen", "lawyer", "supervisor"},
    Action.RESUME_CASE: {"citizen"},
    Action.LEAVE_QUEUE: {"citizen"},
    Action.RATE_CASE: {"citizen"},
    Action.AGENT_RESUME: {"lawyer"},
    Action.SET_AVAILABILITY: {"lawyer"},
    Action.TAKE_NEXT: {"lawyer"},
    Action.QUEUE_VIEW: {"lawyer"},
    Action.WRITE_NOTES: {"lawyer"},
    Action.END_CASE: {"lawyer"},
    Action.ROOM_CHAT: {"citizen", "lawyer"},
    Action.ROOM_NEGOTIATE: {"citizen", "lawyer"},
    Action.ROOM_HANGUP: {"citizen", "lawyer"},
    Action.READ_METRICS: {"supervisor"},
    Action.REQUEST_CALLBACK: {"citizen"},
    Action.ANSWER_OFFER: {"lawyer"},
    Action.TRANSFER_CASE: {"lawyer"},
    Action.SUPERVISE: {"supervisor"},
    Action.RECORDING_CONSENT: {"citizen", "lawyer"},
    Action.RECORDING_VIEW: {"citizen", "lawyer", "mediator", "invitee", "supervisor"},
    Action.MEDIATION_CREATE: {"mediator"},
    Action.MEDIATION_READ: {"mediator", "supervisor", "invitee"},
    Action.MEDIATION_MANAGE: {"mediator"},
    Action.MEDIATION_RESPOND: {"invitee"},
    # Clerks: only with a submitted application at their court (resource check below).
    Action.MEDIATION_JOIN: {"mediator", "invitee", "clerk"},
    Action.MEDIATION_CONTROL: {"mediator", "clerk"},
    Action.MEDIATION_DOCUMENT: {"mediator", "invitee"},
    Action.MEDIATION_SUPERVISE: {"supervisor"},
    Action.AGREEMENT_READ: {"mediator", "supervisor", "invitee"},
    Action.AGREEMENT_EDIT: {"mediator"},
    Action.AGREEMENT_COMMENT: {"mediator", "invitee"},
    Action.AGREEMENT_SIGN: {"mediator", "invitee"},
    Action.AGREEMENT_APPLY: {"invitee"},
    Action.AGREEMENT_FOLLOW_UP: {"mediator"},
    Action.AGREEMENT_OVERDUE: {"supervisor"},
    Action.COURT_REVIEW: {"clerk"},
    Action.COURT_DECIDE: {"clerk"},
    Action.SMS_MESSAGES: {"supervisor"},
    Action.DEV_OUTBOX: {"mediator", "supervisor"},
    # The one window: which step a role may take is decided by the flow (tests/server/registry).
    Action.APPLICATION_FILE_FOR: {"window", "lawyer", "referrer", "mediator", "legal_aid"},
    Action.APPLICATION_READ: {"citizen", "supervisor", "window", "lawyer", "referrer", "mediator",
                              "legal_aid", "notary", "arbitrator", "bureau"},
    Action.APPLICATION_ACT: {"citizen", "mediator", "legal_aid", "notary", "arbitrator", "bureau"},
    Action.APPLICATION_QUEUE: {"mediator", "legal_aid", "notary", "arbitrator", "bureau"},
    Action.APPLICATION_CLOCKS: {"supervisor"},
    Action.CITIZEN_CASES: {"citizen"},
    Action.RATE_SERVICE: {"citizen", "invitee"},
    Action.FOLLOW_UP: {"supervisor"},
    Action.QUALITY_DRAW: {"supervisor"},
    Action.QUALITY_REVIEW: {"supervisor", "lawyer"},
    Action.ALERTS_READ: {"supervisor"},
    Action.ALERTS_ACK: {"supervisor"},
    Action.ASSIST_LIVE: {"supervisor"},
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(Role))
def test_matrix(action: Action, role: Role) -> None:
    principal = Principal(role, "7", "x", "c1" if role in (Role.CITIZEN, Role.INVITEE) else None)
    assert allowed(principal, action) == (role.value in EXPECTED[action])


def test_resource_checks() -> None:
    own = CaseResource("c1", "7")
    other = CaseResource("c2", "8")
    citizen = Principal(Role.CITIZEN, "c1", "张三", "c1")
    lawyer = Principal(Role.LAWYER, "7", "李律师")
    supervisor = Principal(Role.SUPERVISOR, "9", "王主任")
    assert allowed(citizen, Action.READ_CASE, own)
    assert not allowed(citizen, Action.READ_CASE, other)
    assert allowed(lawyer, Action.END_CASE, own)
    assert not allowed(lawyer, Action.END_CASE, other)
    assert allowed(supervisor, Action.READ_CASE, other)
    invitee = Principal(Role.INVITEE, "p1", "李四", "c1")
    assert allowed(invitee, Action.MEDIATION_JOIN, own)
    assert not allowed(invitee, Action.MEDIATION_JOIN, other)
    assert not allowed(invitee, Action.READ_CASE, own)
    # A clerk presides only over a case with a submitted application at their court.
    clerk = Principal(Role.CLERK, "5", "赵书记员")
    at_court = CaseResource("c1", "7", frozenset({"5"}))
    assert allowed(clerk, Action.MEDIATION_CONTROL, at_court)
    assert allowed(clerk, Action.MEDIATION_JOIN, at_court)
    assert not allowed(clerk, Action.MEDIATION_CONTROL, own)
    assert not allowed(clerk, Action.MEDIATION_JOIN, CaseResource("c1", "7", frozenset({"6"})))
    assert not allowed(lawyer, Action.MEDIATION_CONTROL, at_court)
