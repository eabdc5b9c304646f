"""Fault points fire only where armed, and only known points can be armed."""

from __future__ import annotations

import pytest

from server.faults import POINTS, Faults


def test_only_the_armed_point_fires() -> None:
    fired: list[str] = []
    faults = Faults("accept.after_assign", action=lambda: fired.append("killed"))
    for point in sorted(POINTS):
        faults.point(point)
    assert fired == ["killed"]
    Faults().point("accept.after_assign")  # unarmed: nothing


def test_an_unknown_point_cannot_be_armed() -> None:
    with pytest.raises(ValueError, match="unknown fault point"):
        Faults("accept.after_lunch")


def test_every_point_is_reached_somewhere_in_the_code() -> None:
    """A point named here but called nowhere would leave the kill harness waiting for ever."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    called = {m for path in [*root.glob("server/**/*.py"), *root.glob("signaling/**/*.py")]
              for m in re.findall(r'faults\.point\("([a-z_.]+)"\)', path.read_text())}
    assert called == POINTS


def test_every_point_is_described_in_the_deploy_guide() -> None:
    """docs/deploy.md says what each point leaves behind and what the kill tests saw there."""
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    assert not {p for p in POINTS if f"`{p}`" not in guide and f"`…{p.split('.')[1]}`"
                not in guide}
