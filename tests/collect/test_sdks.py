"""The official SDKs, with only their host changed, send to `loop collect`; a cycle finds their events in the
sessions mart."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from rudderstack.analytics import Client as RudderClient
from segment.analytics import Client as SegmentClient

from loop import cycle
from loop.settings import Settings
from loop.warehouse import connect

from .conftest import OTHER_KEY, WRITE_KEY, Collector


def _send(client: Any, prefix: str) -> None:
    """A visit: anonymous page view, sign-up (identify), product view and an order; then screen, alias, group."""
    anonymous, customer = f"anon_{prefix}", f"cus_{prefix}"
    client.page(anonymous_id=anonymous, name="Home", properties={"path": "/", "latency_ms": 240})
    client.identify(user_id=customer, anonymous_id=anonymous, traits={"email": f"{prefix}@example.com"})
    client.track(
        user_id=customer, anonymous_id=anonymous, event="Product Viewed", properties={"product_area": "catalog"}
    )
    client.track(
        user_id=customer,
        anonymous_id=anonymous,
        event="Order Completed",
        properties={"order_id": f"ord_{prefix}", "revenue": 42.5, "currency": "EUR"},
    )
    client.screen(user_id=customer, name="Cart")
    client.alias(previous_id=anonymous, user_id=customer)
    client.group(user_id=customer, group_id=f"acct_{prefix}", traits={"name": "Initech"})
    client.flush()


def test_segment_and_rudderstack_sdks_reach_the_sessions_mart(tmp_path: Path, launch: Callable[..., Collector]) -> None:
    data = tmp_path / "data"
    collector = launch(data)
    errors: list[Any] = []
    logging.getLogger("segment").setLevel(logging.CRITICAL)  # errors are collected through on_error

    segment = SegmentClient(WRITE_KEY, host=collector.url, on_error=lambda e, batch: errors.append(e))
    _send(segment, "segment")
    segment.join()
    # RudderStack's SDK: dataPlaneUrl is the host, gzip bodies by default, identify traits in context.traits.
    rudder = RudderClient(OTHER_KEY, host=collector.url, on_error=lambda e, batch: errors.append(e))
    _send(rudder, "rudder")
    rudder.join()
    code, _ = collector.stop()
    assert errors == [] and code == 0

    [folder] = collector.events_dir.glob("date=*")
    day = date.fromisoformat(folder.name.removeprefix("date="))
    settings = Settings(data_dir=data)
    summary = cycle.run_locally(settings, day, f"scheduled__{day}")
    assert summary["land"]["experience"] is not None and summary.get("build") is not None, summary["failed"]

    with connect(settings, write=False) as con:
        raw = con.execute(
            """SELECT coalesce(user_id, anonymous_id), type, count(*), count(received_at), count(original_timestamp)
               FROM raw.events GROUP BY ALL ORDER BY ALL"""
        ).fetchall()
        quarantined = con.execute("SELECT count(*) FROM ops.quarantine").fetchall()[0][0]
        sessions = con.execute(
            """SELECT customer_id, list(DISTINCT anonymous_id ORDER BY anonymous_id), sum(page_views), sum(orders),
                      sum(revenue)
               FROM main.sessions WHERE customer_id IN ('cus_segment', 'cus_rudder')
               GROUP BY customer_id ORDER BY customer_id"""
        ).fetchall()
        emails = con.execute(
            "SELECT user_id, traits ->> '$.email' FROM raw.events WHERE type = 'identify' ORDER BY user_id"
        ).fetchall()
    assert quarantined == 0
    for prefix in ("segment", "rudder"):
        # Every call landed as it came, stamped by the collector (receivedAt; originalTimestamp as the SDK set it).
        assert (f"anon_{prefix}", "page", 1, 1, 1) in raw
        for kind, count in (("identify", 1), ("track", 2), ("screen", 1), ("alias", 1), ("group", 1)):
            assert (f"cus_{prefix}", kind, count, count, count) in raw
    # Each visit is in the customer's sessions: the anonymous page view stitched to the customer who identified.
    assert sessions == [
        ("cus_rudder", ["anon_rudder"], 1, 1, Decimal("42.50")),
        ("cus_segment", ["anon_segment"], 1, 1, Decimal("42.50")),
    ]
    # RudderStack's identify traits (sent in context.traits) are the customer's traits.
    assert emails == [("cus_rudder", "rudder@example.com"), ("cus_segment", "segment@example.com")]
