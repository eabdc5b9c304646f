"""The room and caucus state machine: who may hear and see whom after every transition."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms import caucus as c
from rooms.caucus import CaucusError, Lobby, Member, RoomState
from server.members import MemberRole, Side

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MED, CO, APP, APP_AGENT, RESP, RESP_REL, OBS = "med", "co", "app", "app_agent", "resp", "resp_rel", "obs"

MEMBERS = {
    MED: Member(MED, MemberRole.MEDIATOR, "调解员"),
    CO: Member(CO, MemberRole.CO_MEDIATOR, "副调解员"),
    APP: Member(APP, MemberRole.APPLICANT, "申请人", Side.APPLICANT),
    APP_AGENT: Member(APP_AGENT, MemberRole.AGENT, "代理人", Side.APPLICANT),
    RESP: Member(RESP, MemberRole.RESPONDENT, "被申请人", Side.RESPONDENT),
    RESP_REL: Member(RESP_REL, MemberRole.RELATIVE, "亲属", Side.RESPONDENT),
    OBS: Member(OBS, MemberRole.OBSERVER, "观察员"),
}


def pairs(state: RoomState) -> set[frozenset[str]]:
    """Every unordered pair that hears and sees each other (the relation is symmetric)."""
    ids = [m.id for m in state.members]
    found = set()
    for a in ids:
        for b in ids:
            if c.can_hear_see(state, a, b):
                assert c.can_hear_see(state, b, a), (a, b)
                found.add(frozenset((a, b)))
    return found


def clique(*ids: str) -> set[frozenset[str]]:
    return {frozenset((a, b)) for a in ids for b in ids if a != b}


def room(*ids: str, admit: bool = True) -> RoomState:
    state = RoomState()
    for member_id in ids:
        state = c.arrive(state, MEMBERS[member_id], NOW).state
        if admit and member_id not in (MED, CO):
            state = c.admit(state, MED, member_id, NOW).state
    return state


def test_mediator_is_admitted_on_arrival_others_wait() -> None:
    t = c.arrive(RoomState(), MEMBERS[MED], NOW)
    assert [e.kind for e in t.events] == ["arrived", "admitted"]
    state = c.arrive(t.state, MEMBERS[APP], NOW).state
    assert state.member(APP).lobby is Lobby.WAITING  # type: ignore[union-attr]
    assert pairs(state) == set()
    assert c.chat_audience(state, APP) == ()


def test_admit_joins_the_joint_session() -> None:
    state = room(MED, APP, RESP, admit=False)
    state = c.admit(state, MED, APP, NOW).state
    assert pairs(state) == clique(MED, APP)
    state = c.admit(state, MED, RESP, NOW).state
    assert pairs(state) == clique(MED, APP, RESP)
    assert c.chat_audience(state, RESP) == (MED, APP, RESP)


def test_refuse_keeps_them_out_and_arriving_again_is_refused() -> None:
    state = room(MED, APP, admit=False)
    t = c.refuse(state, MED, APP, NOW)
    assert t.events[0].kind == "refused"
    assert pairs(t.state) == set()
    with pytest.raises(CaucusError) as err:
        c.arrive(t.state, MEMBERS[APP], NOW)
    assert err.value.code == "refused"
    # The mediator may change their mind.
    assert pairs(c.admit(t.state, MED, APP, NOW).state) == clique(MED, APP)


def test_remove_cuts_media_and_chat_and_is_final() -> None:
    state = room(MED, APP, RESP)
    state = c.remove(state, MED, RESP, NOW).state
    assert pairs(state) == clique(MED, APP)
    assert c.chat_audience(state, RESP) == ()
    with pytest.raises(CaucusError) as err:
        c.arrive(state, MEMBERS[RESP], NOW)
    assert err.value.code == "removed"
    with pytest.raises(CaucusError):
        c.remove(state, MED, MED, NOW)


def test_mute_stops_audio_only() -> None:
    state = c.mute(room(MED, APP, RESP), MED, RESP, True, NOW).state
    assert pairs(state) == clique(MED, APP, RESP)
    assert not c.may_receive(state, APP, RESP, "audio")
    assert c.may_receive(state, APP, RESP, "video")
    assert c.may_receive(state, RESP, APP, "audio")
    state = c.mute(state, MED, RESP, False, NOW).state
    assert c.may_receive(state, APP, RESP, "audio")


def test_caucus_with_the_applicant_side() -> None:
    state = room(MED, APP, APP_AGENT, RESP, RESP_REL)
    groups = c.caucus_with(state, Side.APPLICANT)
    assert groups == [[MED, APP, APP_AGENT], [RESP, RESP_REL]]
    t = c.split(state, MED, groups, NOW)
    assert t.events[0].kind == "caucus_started"
    assert pairs(t.state) == clique(MED, APP, APP_AGENT) | clique(RESP, RESP_REL)
    assert c.chat_audience(t.state, RESP) == (RESP, RESP_REL)
    assert c.chat_audience(t.state, MED) == (MED, APP, APP_AGENT)
    for a in (MED, APP, APP_AGENT):
        for b in (RESP, RESP_REL):
            for kind in ("audio", "video"):
                assert not c.may_receive(t.state, a, b, kind)
                assert not c.may_receive(t.state, b, a, kind)
    assert (RESP, MED) not in c.allowed_pairs(t.state)


def test_mediator_moves_between_groups() -> None:
    state = c.split(room(MED, APP, RESP), MED, [[MED, APP], [RESP]], NOW).state
    state = c.move(state, MED, MED, 1, NOW).state
    assert state.groups == ((APP,), (RESP, MED))
    assert pairs(state) == clique(MED, RESP)
    state = c.move(state, MED, MED, 0, NOW).state
    assert pairs(state) == clique(MED, APP)
    with pytest.raises(CaucusError):
        c.move(state, MED, APP, 1, NOW)  # parties do not move; the mediator re-splits


def test_co_mediator_hosts_a_group() -> None:
    state = room(MED, CO, APP, RESP)
    state = c.split(state, MED, [[MED, APP], [CO, RESP]], NOW).state
    assert pairs(state) == clique(MED, APP) | clique(CO, RESP)
    state = c.move(state, MED, CO, 0, NOW).state
    assert pairs(state) == clique(MED, CO, APP)
    with pytest.raises(CaucusError) as err:
        c.split(state, CO, [[MED], [CO, APP, RESP]], NOW)
    assert err.value.code == "forbidden"


def test_end_caucus_brings_everyone_back() -> None:
    state = c.split(room(MED, APP, RESP), MED, [[MED, APP], [RESP]], NOW).state
    t = c.end_caucus(state, MED, NOW)
    assert t.events[0].kind == "caucus_ended"
    assert pairs(t.state) == clique(MED, APP, RESP)
    with pytest.raises(CaucusError):
        c.end_caucus(t.state, MED, NOW)


def test_admitted_during_a_caucus_joins_their_own_side_never_the_others() -> None:
    state = room(MED, APP, RESP)
    state = c.split(state, MED, [[MED, APP], [RESP]], NOW).state
    for late in (RESP_REL, APP_AGENT, OBS):
        state = c.arrive(state, MEMBERS[late], NOW).state
        assert pairs(state) == clique(MED, APP) | clique(RESP) or late != RESP_REL
        state = c.admit(state, MED, late, NOW).state
    assert pairs(state) == clique(MED, APP, APP_AGENT) | clique(RESP, RESP_REL)
    assert state.group_of(OBS) == 2 and c.chat_audience(state, OBS) == (OBS,)
    # A co-mediator arriving mid-caucus waits alone until moved.
    state = c.arrive(state, MEMBERS[CO], NOW).state
    assert c.chat_audience(state, CO) == (CO,)


def test_reconnect_keeps_the_group() -> None:
    state = c.split(room(MED, APP, RESP), MED, [[MED, APP], [RESP]], NOW).state
    again = c.arrive(state, MEMBERS[RESP], NOW)
    assert again.state == state and again.events == ()
    assert pairs(again.state) == clique(MED, APP)


def test_remove_during_caucus_drops_from_group() -> None:
    state = c.split(room(MED, APP, RESP, RESP_REL), MED, [[MED, APP], [RESP, RESP_REL]], NOW).state
    state = c.remove(state, MED, RESP_REL, NOW).state
    assert state.groups == ((MED, APP), (RESP,))
    assert pairs(state) == clique(MED, APP)


def test_split_is_checked() -> None:
    state = room(MED, APP, RESP)
    for bad in ([[MED, APP, RESP]], [[MED, APP], [APP, RESP]], [[MED], [APP]],
                [[MED], [APP, RESP, "ghost"]]):
        with pytest.raises(CaucusError) as err:
            c.split(state, MED, bad, NOW)
        assert err.value.code == "bad_request", bad
    waiting = c.arrive(state, MEMBERS[OBS], NOW).state
    with pytest.raises(CaucusError):
        c.split(waiting, MED, [[MED, APP], [RESP, OBS]], NOW)


def test_raise_hand_and_recording_are_recorded() -> None:
    state = room(MED, APP)
    t = c.raise_hand(state, APP, True, NOW)
    assert t.state.member(APP).hand_raised and t.events[0].kind == "hand_raised"  # type: ignore[union-attr]
    assert pairs(t.state) == clique(MED, APP)
    t = c.pause_recording(t.state, MED, NOW)
    assert t.state.recording_paused and t.events[0].kind == "recording_paused"
    assert pairs(t.state) == clique(MED, APP)
    with pytest.raises(CaucusError):
        c.pause_recording(t.state, MED, NOW)
    t = c.resume_recording(t.state, MED, NOW)
    assert not t.state.recording_paused and t.events[0].kind == "recording_resumed"
    waiting = c.arrive(t.state, MEMBERS[RESP], NOW).state
    with pytest.raises(CaucusError) as err:
        c.raise_hand(waiting, RESP, True, NOW)
    assert err.value.code == "not_admitted"


def test_end_session_silences_everyone() -> None:
    state = c.end_session(room(MED, APP, RESP), MED, NOW).state
    assert pairs(state) == set()
    assert c.chat_audience(state, MED) == ()
    for transition in (lambda s: c.admit(s, MED, APP, NOW), lambda s: c.end_caucus(s, MED, NOW),
                       lambda s: c.arrive(s, MEMBERS[OBS], NOW)):
        with pytest.raises(CaucusError) as err:
            transition(state)
        assert err.value.code == "session_ended"


@pytest.mark.parametrize("control", [
    lambda s, who: c.admit(s, who, OBS, NOW),
    lambda s, who: c.refuse(s, who, OBS, NOW),
    lambda s, who: c.remove(s, who, RESP, NOW),
    lambda s, who: c.mute(s, who, RESP, True, NOW),
    lambda s, who: c.split(s, who, [[MED, APP], [RESP]], NOW),
    lambda s, who: c.end_session(s, who, NOW),
    lambda s, who: c.pause_recording(s, who, NOW),
])
@pytest.mark.parametrize("who", [APP, RESP, "stranger"])
def test_only_the_mediator_controls(control: object, who: str) -> None:
    state = c.arrive(room(MED, APP, RESP), MEMBERS[OBS], NOW).state
    with pytest.raises(CaucusError) as err:
        control(state, who)  # type: ignore[operator]
    assert err.value.code == "forbidden"


def test_snapshot_round_trip() -> None:
    state = c.split(room(MED, APP, RESP), MED, [[MED, APP], [RESP]], NOW).state
    state = c.mute(state, MED, RESP, True, NOW).state
    assert c.from_dict(c.to_dict(state)) == state


def test_a_member_on_the_phone_is_marked_and_the_mark_follows_how_they_come_back() -> None:
    state = room(MED, RESP)
    state = c.arrive(state, replace(MEMBERS[APP], phone=True), NOW).state
    assert state.member(APP).phone and c.from_dict(c.to_dict(state)) == state  # type: ignore[union-attr]
    state = c.admit(state, MED, APP, NOW).state
    back = c.arrive(state, MEMBERS[APP], NOW)  # the same party, now from a browser
    assert not back.state.member(APP).phone and back.events == ()  # type: ignore[union-attr]
    assert back.state.member(APP).lobby is c.Lobby.ADMITTED  # type: ignore[union-attr]
    assert c.from_dict({"members": [{**c.to_dict(state)["members"][0], "phone": None}]}
                       ).members[0].phone is False  # snapshots from before the field


# --- properties over random sequences of transitions ------------------------------------------

ACTIONS = st.lists(st.tuples(st.sampled_from(
    ["arrive", "admit", "refuse", "remove", "mute", "split", "move", "end_caucus", "hand"]),
    st.sampled_from(list(MEMBERS)), st.integers(0, 3)), max_size=25)


@given(ACTIONS)
def test_no_one_hears_across_groups_or_from_the_lobby(actions: list[tuple[str, str, int]]) -> None:
    state = c.arrive(RoomState(), MEMBERS[MED], NOW).state
    for name, who, n in actions:
        try:
            if name == "arrive":
                state = c.arrive(state, MEMBERS[who], NOW).state
            elif name == "admit":
                state = c.admit(state, MED, who, NOW).state
            elif name == "refuse":
                state = c.refuse(state, MED, who, NOW).state
            elif name == "remove":
                state = c.remove(state, MED, who, NOW).state
            elif name == "mute":
                state = c.mute(state, MED, who, bool(n % 2), NOW).state
            elif name == "split":
                ids = [m.id for m in state.admitted]
                state = c.split(state, MED, [ids[: n + 1], ids[n + 1:]], NOW).state
            elif name == "move":
                state = c.move(state, MED, who, n, NOW).state
            elif name == "end_caucus":
                state = c.end_caucus(state, MED, NOW).state
            else:
                state = c.raise_hand(state, who, True, NOW).state
        except CaucusError:
            pass
        admitted = {m.id for m in state.admitted}
        if state.groups is not None:
            grouped = [m for g in state.groups for m in g]
            assert sorted(grouped) == sorted(admitted), "every admitted member in one group"
        for a, b in c.allowed_pairs(state):
            assert a in admitted and b in admitted
            assert state.group_of(a) == state.group_of(b)
        for m in state.members:
            audience = c.chat_audience(state, m.id)
            assert all(state.group_of(x) == state.group_of(m.id) for x in audience)
            assert all(x in admitted for x in audience)
