from signaling.ratelimit import TokenBucket, Verdict


def test_burst_then_refuse_then_disconnect() -> None:
    bucket = TokenBucket(rate=10, burst=5, tokens=5, cut_off_after=3)
    verdicts = [bucket.take(now=100.0) for _ in range(8)]
    assert verdicts[:5] == [Verdict.ALLOW] * 5
    assert verdicts[5:] == [Verdict.REFUSE, Verdict.REFUSE, Verdict.DISCONNECT]


def test_refills_with_time() -> None:
    bucket = TokenBucket(rate=10, burst=5, tokens=0, updated=100.0)
    assert bucket.take(now=100.0) is Verdict.REFUSE
    assert bucket.take(now=100.2) is Verdict.ALLOW
