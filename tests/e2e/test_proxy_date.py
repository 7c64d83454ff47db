"""A response forwarded without a Date gets one (RFC 9110 6.6.1: a
recipient with a clock MUST add it): the current time in IMF-fixdate.
strata-origin always sends Date, so a raw origin answers here."""
import email.utils
import re
import time

import pytest

from harness import RawOrigin, free_port, http_request, parse_response, start_strata, strata_yaml

IMF = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct"
                 r"|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$")


@pytest.fixture
def raw_edge(tmp_path):
    origin = RawOrigin(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nCache-Control: no-store\r\n"
                       b"Connection: close\r\n\r\nok")
    port = free_port()
    proc = start_strata(strata_yaml([origin.port], port), port, str(tmp_path))
    yield port
    try:
        assert proc.stop() == 0
    finally:
        origin.close()


def check_date(raw):
    status, h, body = parse_response(raw)
    assert status == 200 and body == b"ok"
    assert len(h.get("date", [])) == 1, h
    assert IMF.match(h["date"][0]), h["date"]
    assert abs(email.utils.parsedate_to_datetime(h["date"][0]).timestamp() - time.time()) < 5
    return h


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_date_added_when_origin_sends_none(raw_edge, method):
    raw = http_request(raw_edge, ("%s /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
                                  "Connection: close\r\n\r\n" % method).encode())
    h = check_date(raw)
    assert h["cache-status"][0].startswith("strata; fwd=")
