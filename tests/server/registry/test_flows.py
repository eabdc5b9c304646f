"""Every state machine of the one window: each transition, each refusal (pure)."""

from __future__ import annotations

import pytest

from server.registry.flows import FLOWS, LEGAL_AID, MEDIATION_APPLICATION, Actor, StepRefused, step


@pytest.mark.parametrize("flow", list(FLOWS.values()), ids=lambda f: f.code)
def test_every_transition_is_taken_by_its_actors_from_its_sources_only(flow) -> None:  # type: ignore[no-untyped-def]
    for t in flow.transitions:
        for source in sorted(flow.states()):
            for actor in Actor:
                args = (flow, source, t.action, actor, "原因" if t.needs_reason else "")
                if source in t.sources and actor in t.actors:
                    assert step(*args).target == t.target
                else:
                    with pytest.raises(StepRefused):
                        step(*args)


@pytest.mark.parametrize("flow", list(FLOWS.values()), ids=lambda f: f.code)
def test_final_states_offer_no_way_out_but_the_objection(flow) -> None:  # type: ignore[no-untyped-def]
    for state in flow.final:
        assert flow.actions_from(state) == [], (flow.code, state)


def test_a_refusal_needs_a_written_reason() -> None:
    with pytest.raises(StepRefused) as err:
        step(LEGAL_AID, "received", "refuse", Actor.HANDLER, "  ")
    assert err.value.code == "reason_required"
    assert step(LEGAL_AID, "received", "refuse", Actor.HANDLER, "不符合经济困难标准").target == "refused"


def test_legal_aid_path_with_missing_materials_objection_and_urgent_help() -> None:
    state = "received"
    for action, actor in [("request_materials", Actor.HANDLER), ("supply_materials", Actor.APPLICANT),
                          ("grant", Actor.HANDLER), ("assign", Actor.HANDLER)]:
        state = step(LEGAL_AID, state, action, actor).target
    assert state == "assigned"
    # Art 49: the applicant objects to a refusal; the bureau decides.
    assert step(LEGAL_AID, "refused", "object", Actor.APPLICANT, "我符合条件").target == "objection"
    assert step(LEGAL_AID, "objection", "uphold_objection", Actor.BUREAU, "理由成立").target == "granted"
    with pytest.raises(StepRefused):
        step(LEGAL_AID, "objection", "uphold_objection", Actor.HANDLER, "x")
    # Art 44: urgent help before the formalities, even while materials are awaited.
    assert step(LEGAL_AID, "awaiting_materials", "assist_urgently", Actor.HANDLER).target == "granted"
    # Art 43: materials not supplied: taken as withdrawn.
    assert step(LEGAL_AID, "awaiting_materials", "lapse", Actor.SYSTEM).target == "lapsed"


def test_one_party_s_refusal_ends_a_mediation_application() -> None:
    state = step(MEDIATION_APPLICATION, "received", "accept", Actor.HANDLER).target
    assert state == "awaiting_respondent"
    assert step(MEDIATION_APPLICATION, state, "respondent_refuse", Actor.RESPONDENT).target == "refused"
    assert step(MEDIATION_APPLICATION, state, "respondent_agree", Actor.RESPONDENT).target == "in_mediation"
    with pytest.raises(StepRefused) as err:
        step(MEDIATION_APPLICATION, state, "respondent_agree", Actor.APPLICANT)
    assert err.value.code == "forbidden"
    # A lawyer's referral is a draft until the citizen confirms it.
    assert step(MEDIATION_APPLICATION, "draft", "confirm", Actor.APPLICANT).target == "received"
