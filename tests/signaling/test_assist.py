"""Live assist through the socket: who may listen and join, of which region, in what order;
each step on the case's timeline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.clients import SocketClient
from tests.conftest import Running

Connect = Callable[[str | None], Awaitable[SocketClient]]


async def matched(running: Running, connect: Connect, mode: str = "video"
                  ) -> tuple[str, str, SocketClient, SocketClient]:
    await running.add_lawyer("lawyer1", skills={"labour": 5})
    lawyer = await connect(await running.login("lawyer1"))
    case_id, citizen_token = await running.intake(category="labour", mode=mode)
    citizen = await connect(citizen_token)
    await lawyer.wait_for("offer:new")
    reply = await lawyer.call("offer:accept", {"case_id": case_id})
    assert reply["ok"], reply
    return case_id, reply["room"]["room_id"], lawyer, citizen


async def test_only_supervisors_of_the_region_listen_and_join_after_listening(
        running: Running, connect: Connect) -> None:
    case_id, room_id, lawyer, citizen = await matched(running, connect)
    await running.add_lawyer("boss", role="supervisor", display_name="值班长 王")
    await running.add_lawyer("far", role="supervisor", region="qz-jiangshan")
    boss = await connect(await running.login("boss"))
    far = await connect(await running.login("far"))

    for client in (lawyer, citizen):
        reply = await client.call("assist:listen", {"case_id": case_id})
        assert reply["error"]["code"] == "forbidden"
    assert (await far.call("assist:live", {}))["consultations"] == []
    reply = await far.call("assist:listen", {"case_id": case_id})
    assert reply["error"]["code"] == "forbidden"  # another region's consultation

    [live] = (await boss.call("assist:live", {}))["consultations"]
    assert live["case_id"] == case_id and live["room_id"] == room_id
    reply = await boss.call("assist:join", {"case_id": case_id})
    assert reply["error"]["code"] == "invalid_state"  # listen first
    reply = await boss.call("assist:offer", {"room_id": room_id, "sdp": "v=0"})
    assert reply["error"]["code"] == "not_in_room"
    reply = await boss.call("assist:listen", {"case_id": case_id})
    assert reply["ok"] and reply["state"] == "listening" and reply["slots"] == 2
    reply = await boss.call("assist:join", {"case_id": case_id})
    assert reply["ok"] and reply["state"] == "joined"
    for client in (lawyer, citizen):
        notice = await client.wait_for("room:peer", lambda e: e["event"] == "supervisor_joined")
        assert notice["peer"] == {"role": "supervisor", "name": "值班长 王"} and notice["slots"] == 2
    # A reloaded page learns it should offer a slot for the supervisor.
    resumed = await citizen.call("case:resume", {})
    assert resumed["room"]["audio_slots"] == 2, resumed
    assert (await boss.call("assist:leave", {"case_id": case_id}))["ok"]
    await citizen.wait_for("room:peer", lambda e: e["event"] == "supervisor_left")
    kinds = [e.kind for e in await running.cases.events(case_id) if e.kind.startswith("supervisor")]
    assert kinds == ["supervisor_listening", "supervisor_joined", "supervisor_left"]
    reply = await boss.call("assist:offer", {"room_id": room_id, "sdp": "v=0"})
    assert reply["error"]["code"] == "not_in_room"  # left
    assert (await citizen.call("case:resume", {}))["room"]["audio_slots"] == 1


async def test_a_text_consultation_has_nothing_to_listen_to(
        running: Running, connect: Connect) -> None:
    case_id, _, _, _ = await matched(running, connect, mode="text")
    await running.add_lawyer("boss", role="supervisor")
    boss = await connect(await running.login("boss"))
    assert (await boss.call("assist:live", {}))["consultations"] == []
    reply = await boss.call("assist:listen", {"case_id": case_id})
    assert reply["error"]["code"] == "media_unavailable"
    reply = await boss.call("assist:listen", {"case_id": "0" * 32})
    assert reply["error"]["code"] == "not_found"
