"""OutageReports: the first failure of an outage is reported, then one reminder per interval."""

from __future__ import annotations

from atomiton.events._outage import OutageReports


def test_an_outage_is_reported_first_then_throttled_with_a_count_and_reset_by_recovery() -> None:
    now = [0.0]
    reports: list[str] = []
    outage = OutageReports(reports.append, every=10.0, clock=lambda: now[0])
    for second in range(25):  # four attempts a second for 25 s
        for _ in range(4):
            now[0] = second + _ / 4
            outage.failed("down")
    assert reports == [
        "down",
        "down (41 failed attempts so far)",
        "down (81 failed attempts so far)",
    ]
    outage.recovered()
    outage.failed("down again")
    assert reports[-1] == "down again"
