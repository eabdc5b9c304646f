import pytest

from signaling.eta import estimate_wait_s


def test_free_agent_means_no_wait() -> None:
    assert estimate_wait_s(1, agents_on_duty=2, agents_available=1, mean_handle_s=300) == 0


def test_rounds_of_service() -> None:
    # two busy agents, positions 1-2 wait one round, 3-4 two rounds
    assert estimate_wait_s(1, 2, 0, 300) == 300
    assert estimate_wait_s(2, 2, 0, 300) == 300
    assert estimate_wait_s(3, 2, 0, 300) == 600


def test_nobody_on_duty_is_unknown() -> None:
    assert estimate_wait_s(1, 0, 0, 300) is None


def test_position_starts_at_one() -> None:
    with pytest.raises(ValueError):
        estimate_wait_s(0, 1, 1, 300)
