"""The state machines of the one window's applications (pure: no I/O).

A catalogue item names its flow. A flow lists, for each action, the states it may start from,
the state it leads to, the roles that may take it and the clock event it records (the event names
the catalogue's limits start and stop on). ``step`` returns the decision; the repository writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Actor(StrEnum):
    """Who takes an action, as the flow sees it (the permission policy maps roles onto these)."""

    APPLICANT = "applicant"  # the citizen, or whoever files for them (window, advisor, proxy)
    RESPONDENT = "respondent"  # the other party of a mediation application
    HANDLER = "handler"  # staff of the institution that holds the application now
    BUREAU = "bureau"  # the justice bureau deciding an objection
    SYSTEM = "system"  # the clock (a request for materials not answered in time)


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str
    actors: frozenset[Actor]
    event: str  # the clock event it records (limits start/stop on these)
    needs_reason: bool = False


@dataclass(frozen=True)
class Flow:
    code: str
    initial: str
    final: frozenset[str]
    transitions: tuple[Transition, ...]

    def transition(self, action: str) -> Transition | None:
        return next((t for t in self.transitions if t.action == action), None)

    def actions_from(self, state: str) -> list[str]:
        return [t.action for t in self.transitions if state in t.sources]

    def states(self) -> frozenset[str]:
        found = {self.initial, *self.final}
        for t in self.transitions:
            found |= t.sources | {t.target}
        return frozenset(found)


class StepRefused(Exception):
    """An action that the flow does not allow now; ``code`` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def step(flow: Flow, state: str, action: str, actor: Actor, reason: str = "") -> Transition:
    """The transition ``action`` takes from ``state``, or ``StepRefused`` saying why not."""
    transition = flow.transition(action)
    if transition is None:
        raise StepRefused("unknown_action", f"no action {action!r} in flow {flow.code}")
    if actor not in transition.actors:
        raise StepRefused("forbidden", f"{actor.value} may not {action}")
    if state not in transition.sources:
        raise StepRefused("invalid_state", f"cannot {action} an application that is {state}")
    if transition.needs_reason and not reason.strip():
        raise StepRefused("reason_required", f"{action} needs a written reason")
    return transition


def _t(action: str, sources: set[str], target: str, actors: set[Actor], event: str,
       needs_reason: bool = False) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(actors), event, needs_reason)


A, R, H, B, S = Actor.APPLICANT, Actor.RESPONDENT, Actor.HANDLER, Actor.BUREAU, Actor.SYSTEM

# 人民调解法 Arts 17, 18, 26: the committee accepts, declines or passes the application on; the
# other party agrees or refuses (one party's clear refusal ends it, with the other routes told).
MEDIATION_APPLICATION = Flow(
    code="mediation_application",
    initial="received",
    final=frozenset({"declined", "refused", "withdrawn", "settled", "failed"}),
    transitions=(
        # A lawyer's referral or a court/police referral is a draft until the applicant confirms.
        _t("confirm", {"draft"}, "received", {A}, "received"),
        _t("accept", {"received"}, "awaiting_respondent", {H}, "accepted"),
        _t("decline", {"received"}, "declined", {H}, "declined", needs_reason=True),
        _t("pass_on", {"received"}, "received", {H}, "passed_on", needs_reason=True),
        _t("respondent_agree", {"awaiting_respondent"}, "in_mediation", {R, H}, "agreed"),
        _t("respondent_refuse", {"awaiting_respondent"}, "refused", {R, H}, "refused"),
        # The mediation case the product runs ends it (S: recorded when that case closes).
        _t("settle", {"in_mediation"}, "settled", {H, S}, "settled"),
        _t("fail", {"in_mediation"}, "failed", {H, S}, "failed", needs_reason=True),
        _t("withdraw", {"draft", "received", "awaiting_respondent", "in_mediation"}, "withdrawn",
           {A}, "withdrawn"),
    ),
)

# States after which the parties are told their other routes (人民调解法 Art 26).
OTHER_ROUTES_STATES = frozenset({"declined", "refused", "failed"})

# 法律援助法 Arts 38, 41-44, 49.
LEGAL_AID = Flow(
    code="legal_aid",
    initial="received",
    final=frozenset({"assigned", "withdrawn", "lapsed", "closed"}),
    transitions=(
        _t("confirm", {"draft"}, "received", {A}, "received"),
        # 一次性告知: the review clock pauses until the materials arrive.
        _t("request_materials", {"received"}, "awaiting_materials", {H}, "materials_requested"),
        # The applicant acknowledges the notice (stored on the timeline; the state stays).
        _t("acknowledge_notice", {"awaiting_materials"}, "awaiting_materials", {A},
           "notice_acknowledged"),
        _t("supply_materials", {"awaiting_materials"}, "received", {A, H}, "received"),
        _t("lapse", {"awaiting_materials"}, "lapsed", {S, H}, "lapsed"),
        _t("grant", {"received"}, "granted", {H}, "granted"),
        _t("refuse", {"received"}, "refused", {H}, "refused", needs_reason=True),
        # Art 44: urgent cases are helped first; the formalities follow.
        _t("assist_urgently", {"received", "awaiting_materials"}, "granted", {H}, "granted"),
        _t("assign", {"granted"}, "assigned", {H}, "assigned"),
        _t("transfer", {"received"}, "received", {H}, "transferred", needs_reason=True),
        _t("object", {"refused"}, "objection", {A}, "objected", needs_reason=True),
        _t("uphold_objection", {"objection"}, "granted", {B}, "objection_upheld", needs_reason=True),
        _t("reject_objection", {"objection"}, "closed", {B}, "objection_rejected", needs_reason=True),
        _t("close_refused", {"refused"}, "closed", {H}, "closed"),
        _t("withdraw", {"draft", "received", "awaiting_materials", "granted"}, "withdrawn", {A},
           "withdrawn"),
    ),
)

NOTARIZATION = Flow(
    code="notarization",
    initial="received",
    final=frozenset({"issued", "refused", "withdrawn"}),
    transitions=(
        _t("accept", {"received"}, "accepted", {H}, "accepted"),
        _t("refuse", {"received", "accepted"}, "refused", {H}, "refused", needs_reason=True),
        _t("issue", {"accepted"}, "issued", {H}, "issued"),
        _t("withdraw", {"received", "accepted"}, "withdrawn", {A}, "withdrawn"),
    ),
)

ARBITRATION = Flow(
    code="arbitration",
    initial="received",
    final=frozenset({"accepted", "refused", "withdrawn"}),
    transitions=(
        _t("accept", {"received"}, "accepted", {H}, "accepted"),
        _t("refuse", {"received"}, "refused", {H}, "refused", needs_reason=True),
        _t("withdraw", {"received"}, "withdrawn", {A}, "withdrawn"),
    ),
)

FLOWS: dict[str, Flow] = {f.code: f for f in (MEDIATION_APPLICATION, LEGAL_AID, NOTARIZATION,
                                              ARBITRATION)}
