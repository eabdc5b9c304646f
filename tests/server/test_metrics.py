from server.metrics import EventCounters, gauge, labelled, render


def test_render_prometheus_text() -> None:
    counters = EventCounters()
    counters.handled("chat:send", None)
    counters.handled("chat:send", "bad_request")
    text = render([
        gauge("parley_queue_waiting", "Cases waiting", 3),
        labelled("parley_socket_events_total", "counter", "Events", "event", dict(counters.events)),
        labelled("parley_socket_errors_total", "counter", "Errors", "code", dict(counters.errors)),
    ])
    assert "# TYPE parley_queue_waiting gauge\nparley_queue_waiting 3\n" in text
    assert 'parley_socket_events_total{event="chat:send"} 2' in text
    assert 'parley_socket_errors_total{code="bad_request"} 1' in text


def test_label_values_are_escaped() -> None:
    text = render([labelled("m", "counter", "h", "x", {'a"b\\c': 1})])
    assert 'm{x="a\\"b\\\\c"} 1' in text
