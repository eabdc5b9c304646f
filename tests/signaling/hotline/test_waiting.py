"""A lawyer sees who is waiting before any offer (issue 19.6): category, mode, priority,
region, how long, and whether the case could come to them — never names, phones, descriptions
or case ids, which come with an offer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from signaling.hotline.waiting import ENTRY_KEYS
from tests.clients import SocketClient
from tests.conftest import Running
from tests.signaling.hotline.test_hotline import lawyer, settings  # noqa: F401  (fixture)

Connect = Callable[[str | None], Awaitable[SocketClient]]


async def test_lawyer_sees_the_waiting_queue_without_personal_data(running: Running,
                                                                   connect: Connect) -> None:
    me = await lawyer(running, connect, "l1", {"labour": 5}, "qz-kecheng")
    assert (await me.call("agent:availability", {"status": "away"}))["ok"]
    labour, citizen_token = await running.intake(category="labour", name="王小明", phone="13911112222",
                                     description="公司拖欠工资三个月")
    family, _ = await running.intake(category="marriage_family", name="赵丽",
                                     phone="13933334444", description="离婚后抚养费")

    reply = await me.call("queue:waiting")
    assert reply["ok"] and reply["waiting"] == 2, reply
    entries = reply["queue"]
    assert all(set(e) == ENTRY_KEYS for e in entries), entries
    assert [(e["category"], e["for_me"]) for e in entries] == [
        ("labour", True), ("marriage_family", False)]
    assert entries[0]["region"] == "qz-kecheng" and entries[0]["priority"] == "normal"
    assert entries[0]["mode"] == "video" and entries[0]["waited_s"] >= 0
    text = str(reply)
    for secret in ("王小明", "13911112222", "拖欠", "赵丽", "13933334444", labour, family):
        assert secret not in text

    resumed = await me.call("agent:resume")
    assert resumed["ok"] and [e["category"] for e in resumed["queue"]] == [
        "labour", "marriage_family"]

    citizen = await connect(citizen_token)
    assert (await citizen.call("queue:waiting"))["error"]["code"] == "forbidden"
