import json
import logging

from server.logs import JsonFormatter, case_id_var, mask, request_id_var


def test_mask_personal_identifiers() -> None:
    assert mask("call 13800138000 now") == "call 138****8000 now"
    assert mask("id 11010519491231002X ok") == "id 110105********002X ok"
    assert mask("case 1234567890123456789012") == "case 1234567890123456789012"


def test_json_line_with_context() -> None:
    record = logging.LogRecord("parley", logging.INFO, __file__, 1, "phone %s", ("13912345678",),
                               None)
    token_r = request_id_var.set("r1")
    token_c = case_id_var.set("c1")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token_r)
        case_id_var.reset(token_c)
    assert line["message"] == "phone 139****5678"
    assert (line["request_id"], line["case_id"], line["level"]) == ("r1", "c1", "info")
