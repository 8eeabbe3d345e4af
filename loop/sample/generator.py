"""A deterministic, streaming generator of a sample period of the customer data loop.

The story the data tells:

* Marketing runs twelve campaigns. Paid ones (search, social, display, affiliate) bring anonymous visitors to
  their landing page with UTM tags; owned ones (email, push) touch existing customers, and their clicks bring them
  back. Each campaign makes a promise. One campaign starts mid-period, so the catalog gets a second snapshot.
* Visitors browse (page views, ``Product Viewed``), some sign up (``identify`` + ``Signed Up``, which stitches
  their anonymous id to their customer id), add to cart and complete orders. Signed-up customers come back on
  later days. Sessions are bursts of events; some start just before midnight and cross it.
* The experience is uneven: checkout and billing throw more errors and load slower; two campaigns promise a
  smooth journey but land visitors on a slow, failing page (``cmp_social_oneclick`` and ``cmp_search_setup``):
  a brilliant campaign followed by a failing experience. Release 2.4.0 makes checkout worse, 2.4.1 fixes it.
* Feedback follows the experience: customers who met errors and slow pages give low NPS and CSAT, file tickets
  and write poor reviews; the others are mostly promoters.
* A controlled share of records is bad, of every kind landing must catch: malformed JSON, wrong types, missing
  required fields, duplicate ids, events later than the lookback window, unknown campaign ids. Some good events
  arrive a day late (within the lookback window): they are not bad.

Same arguments, same bytes: all randomness comes from one seeded ``random.Random``; no wall clock is read.
Memory is O(customers): each day's events are written as they are made.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

BAD_KINDS = ("malformed_json", "wrong_type", "missing_field", "duplicate_id", "late_event", "unknown_campaign")
SOURCES = ("campaigns", "ad_performance", "touches", "events", "feedback", "releases")
AREAS = ("onboarding", "search", "catalog", "checkout", "billing", "account")
#: Base error probability per page view and latency range (ms) per product area.
AREA_QUALITY: dict[str, tuple[float, int, int]] = {
    "onboarding": (0.01, 200, 700),
    "search": (0.01, 150, 600),
    "catalog": (0.005, 200, 800),
    "checkout": (0.06, 400, 1800),
    "billing": (0.05, 400, 1500),
    "account": (0.01, 200, 600),
}
USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36",
)


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    name: str
    channel: str
    objective: str
    promise: str
    budget: int
    segment: str
    starts: float  # share of the period elapsed when it starts
    weight: float  # share of paid acquisition while active
    bad_journey: bool = False

    @property
    def paid(self) -> bool:
        return self.channel not in ("email", "push")

    @property
    def landing_path(self) -> str:
        return f"/lp/{self.campaign_id}"


CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign(
        "cmp_search_delivery",
        "Spring search",
        "paid_search",
        "acquisition",
        "Delivery in 2 days or it's free",
        9000,
        "urban 25-40",
        0.0,
        3.0,
    ),
    Campaign(
        "cmp_social_oneclick",
        "One-click launch",
        "paid_social",
        "acquisition",
        "Checkout in one click",
        8000,
        "mobile-first",
        0.0,
        2.5,
        bad_journey=True,
    ),
    Campaign(
        "cmp_display_retarget",
        "Cart reminder",
        "display",
        "reactivation",
        "Your cart, saved for you",
        3000,
        "cart abandoners",
        0.0,
        1.0,
    ),
    Campaign(
        "cmp_affiliate_price",
        "Price match",
        "affiliate",
        "acquisition",
        "Best price, guaranteed",
        4000,
        "deal seekers",
        0.0,
        1.5,
    ),
    Campaign(
        "cmp_search_setup",
        "Easy start",
        "paid_search",
        "acquisition",
        "Set up in 5 minutes",
        6000,
        "small business",
        0.0,
        2.0,
        bad_journey=True,
    ),
    Campaign(
        "cmp_social_video",
        "See it live",
        "paid_social",
        "awareness",
        "See it in action before you buy",
        5000,
        "18-30",
        0.0,
        1.2,
    ),
    Campaign(
        "cmp_display_brand", "Just works", "display", "awareness", "The app that just works", 2500, "broad", 0.0, 0.8
    ),
    Campaign(
        "cmp_search_midseason",
        "Mid-season sale",
        "paid_search",
        "acquisition",
        "Up to 30% off, mid-season",
        5000,
        "returning shoppers",
        0.45,
        2.5,
    ),
    Campaign(
        "cmp_email_welcome",
        "Welcome series",
        "email",
        "retention",
        "10% off your second order",
        500,
        "new customers",
        0.0,
        0.0,
    ),
    Campaign(
        "cmp_email_winback",
        "We miss you",
        "email",
        "reactivation",
        "Free shipping on your return",
        500,
        "lapsed customers",
        0.0,
        0.0,
    ),
    Campaign(
        "cmp_push_flash", "Flash sale", "push", "retention", "Flash sale: 24 hours only", 300, "app users", 0.0, 0.0
    ),
    Campaign(
        "cmp_push_restock",
        "Back in stock",
        "push",
        "reactivation",
        "Your favourites are back in stock",
        300,
        "wishlist users",
        0.2,
        0.0,
    ),
)
CPC = {"paid_search": 1.2, "paid_social": 0.7, "display": 0.4, "affiliate": 0.9}


@dataclass(frozen=True)
class GenerationSummary:
    """What :func:`generate` wrote."""

    start: date
    days: int
    customers: int
    seed: int
    files: int
    records: dict[str, int]
    bad_records: dict[str, int]
    events: int


@dataclass
class _Customer:
    anonymous_id: str
    first_day: int
    campaign: Campaign | None
    signed_up: bool = False
    pain: int = 0  # errors and slow pages lived so far


@dataclass
class _Release:
    version: str
    day: int
    areas: tuple[str, ...]
    notes: str


@dataclass
class _State:
    rng: random.Random
    start: date
    bad_fraction: float
    records: Counter[str] = field(default_factory=Counter)
    bad: Counter[str] = field(default_factory=Counter)
    files: int = 0
    sequence: int = 0


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _ts(day_start: datetime, seconds: float) -> str:
    return (day_start + timedelta(seconds=int(seconds))).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def _releases(days: int, start: date) -> list[_Release]:
    plan = [
        _Release("2.3.0", 0, ("search", "catalog"), "Faster search"),
        _Release("2.4.0", max(1, round(days * 0.3)), ("checkout", "billing"), "New checkout flow"),
        _Release("2.4.1", max(2, round(days * 0.55)), ("checkout",), "Checkout fixes"),
        _Release("2.5.0", max(3, round(days * 0.8)), ("search", "account"), "Saved searches"),
    ]
    return [r for r in plan if r.day < days]


def _current_release(releases: list[_Release], day: int) -> _Release:
    return [r for r in releases if r.day <= day][-1]


class _DayFiles:
    """The open files of one day, created on first write."""

    def __init__(self, landing_dir: Path, day: date, state: _State) -> None:
        self.landing_dir, self.day, self.state = landing_dir, day, state
        self.handles: dict[str, IO[str]] = {}

    def write(self, pillar: str, source: str, ext: str, line: str, header: str | None = None) -> None:
        handle = self.handles.get(source)
        if handle is None:
            folder = self.landing_dir / pillar / source / f"date={self.day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            handle = (folder / f"part-0000.{ext}").open("w", encoding="utf-8", newline="", buffering=1 << 20)
            if header:
                handle.write(header + "\n")
            self.handles[source] = handle
            self.state.files += 1
        handle.write(line + "\n")
        self.state.records[source] += 1

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def _header(source: str) -> str:
    """A CSV header in the contract's field order (the contracts declare the columns; the sample follows)."""
    from loop.contracts import source_named

    model = source_named(source).model
    return ",".join(info.alias or name for name, info in model.model_fields.items())


def _csv(values: Sequence[object]) -> str:
    out = []
    for value in values:
        text = "" if value is None else str(value)
        if any(c in text for c in ',"\n'):
            text = '"' + text.replace('"', '""') + '"'
        out.append(text)
    return ",".join(out)


class _Generator:
    def __init__(self, landing_dir: Path, customers: int, days: int, start: date, seed: int, bad: float) -> None:
        self.landing_dir, self.days, self.start = landing_dir, days, start
        self.state = _State(random.Random(seed), start, bad)
        self.rng = self.state.rng
        self.releases = _releases(days, start)
        self.customers: list[_Customer] = []
        self.by_first_day: list[list[int]] = [[] for _ in range(days)]
        for index in range(customers):
            first_day = self.rng.randrange(days)
            campaign = self._acquiring_campaign(first_day) if self.rng.random() < 0.8 else None
            self.customers.append(_Customer(_uuid(self.rng), first_day, campaign))
            self.by_first_day[first_day].append(index)
        self.signed_up: list[int] = []
        self.carry: list[str] = []  # event lines that belong to the next day's file
        self.session_counts: Counter[str] = Counter()

    # -- helpers ---------------------------------------------------------------------------------------------
    def _active(self, campaign: Campaign, day: int) -> bool:
        return day >= int(campaign.starts * self.days)

    def _acquiring_campaign(self, day: int) -> Campaign:
        paid = [c for c in CAMPAIGNS if c.paid and self._active(c, day)]
        return self.rng.choices(paid, weights=[c.weight for c in paid])[0]

    def _is_bad(self) -> bool:
        return self.state.bad_fraction > 0 and self.rng.random() < self.state.bad_fraction

    def _customer_id(self, index: int) -> str:
        return f"cus_{index + 1:06d}"

    # -- one day ---------------------------------------------------------------------------------------------
    def day(self, offset: int) -> None:
        day = self.start + timedelta(days=offset)
        day_start = datetime(day.year, day.month, day.day)
        files = _DayFiles(self.landing_dir, day, self.state)
        self.session_counts.clear()
        events: list[str] = self.carry
        self.carry = []
        for line in events:
            files.write("experience", "events", "ndjson", line)
        release = _current_release(self.releases, offset)
        self._catalog(files, offset)
        self._release(files, offset, day)
        # New visitors of the day, then returning customers, then owned-channel clicks.
        for index in self.by_first_day[offset]:
            self._session(files, day_start, offset, index, first=True, release=release)
        for index in list(self.signed_up):
            if self.customers[index].first_day < offset and self.rng.random() < 0.12:
                self._session(files, day_start, offset, index, first=False, release=release)
        self._touches(files, day_start, offset, release)
        self._ad_performance(files, day, offset)
        files.close()

    def _catalog(self, files: _DayFiles, offset: int) -> None:
        starts = {int(c.starts * self.days) for c in CAMPAIGNS}
        if offset != 0 and offset not in starts:
            return
        header = _header("campaigns")
        for c in CAMPAIGNS:
            if not self._active(c, offset):
                continue
            begin = self.start + timedelta(days=int(c.starts * self.days))
            end = self.start + timedelta(days=self.days + 30)
            files.write(
                "marketing",
                "campaigns",
                "csv",
                _csv(
                    [
                        c.campaign_id,
                        c.name,
                        c.channel,
                        c.objective,
                        c.promise,
                        begin.isoformat(),
                        end.isoformat(),
                        f"{c.budget}.00",
                        "EUR",
                        c.segment,
                    ]
                ),
                header,
            )

    def _release(self, files: _DayFiles, offset: int, day: date) -> None:
        for release in self.releases:
            if release.day == offset:
                released_on = day - timedelta(days=7) if offset == 0 else day
                files.write(
                    "product",
                    "releases",
                    "csv",
                    _csv([release.version, released_on.isoformat(), ";".join(release.areas), release.notes]),
                    _header("releases"),
                )

    def _session(
        self,
        files: _DayFiles,
        day_start: datetime,
        offset: int,
        index: int,
        *,
        first: bool,
        release: _Release,
        touch: Campaign | None = None,
        at: float | None = None,
    ) -> None:
        rng = self.rng
        customer = self.customers[index]
        customer_id = self._customer_id(index) if customer.signed_up else None
        campaign = customer.campaign if first else touch
        if at is None:
            at = rng.random() * 86400 if rng.random() > 0.04 else 86400 - rng.uniform(60, 900)  # some cross midnight
        lines: list[tuple[float, str]] = []
        agent = USER_AGENTS[index % len(USER_AGENTS)]
        context: dict[str, Any] = {"userAgent": agent, "app": {"version": release.version}}
        if campaign is not None:
            self.session_counts[campaign.campaign_id] += 1
            medium = {
                "paid_search": "cpc",
                "paid_social": "paid_social",
                "display": "display",
                "affiliate": "affiliate",
                "email": "email",
                "push": "push",
            }[campaign.channel]
            context["campaign"] = {
                "source": campaign.channel.split("_")[-1],
                "medium": medium,
                "name": campaign.campaign_id,
                "content": "v1",
            }
        pain = 0
        bad_journey = campaign is not None and campaign.bad_journey and first

        def emit(kind: str, name: str, properties: dict[str, Any], *, ids: bool = True) -> None:
            nonlocal at
            record: dict[str, Any] = {"type": kind, "messageId": _uuid(rng), "anonymousId": customer.anonymous_id}
            if customer_id is not None:
                record["userId"] = customer_id
            record["timestamp"] = _ts(day_start, at)
            if kind == "track":
                record["event"] = name
            elif kind == "page":
                record["name"] = name
            if kind == "identify":
                record["traits"] = {"plan": "free", "segment": campaign.segment if campaign else "organic"}
            else:
                record["properties"] = properties
            ctx = dict(context)
            if "path" in properties:
                ctx["page"] = {"path": properties["path"], "title": name}
            record["context"] = ctx
            lines.append((at, _dump(record)))
            at += rng.uniform(8, 150)

        def page(name: str, path: str, area: str) -> None:
            nonlocal pain
            error_rate, low, high = AREA_QUALITY[area]
            if release.version == "2.4.0" and area == "checkout":
                error_rate *= 3
            slow = bad_journey and path.startswith("/lp/")
            latency = rng.randint(2500, 8000) if slow or rng.random() < error_rate else rng.randint(low, high)
            emit("page", name, {"path": path, "product_area": area, "latency_ms": latency})
            if latency > 2000:
                pain += 1
            if rng.random() < (0.45 if slow else error_rate):
                pain += 2
                code = rng.choice(("E500", "E503", "TIMEOUT") if area != "checkout" else ("PAYMENT_DECLINED", "E500"))
                emit(
                    "track",
                    "Error Occurred",
                    {"error_code": code, "product_area": area, "message": f"{code} on {path}"},
                )

        landing = campaign.landing_path if campaign is not None and campaign.paid and first else "/"
        page("Landing" if landing != "/" else "Home", landing, "onboarding")
        for _ in range(rng.randint(1, 5)):
            area = rng.choice(("search", "catalog", "catalog", "account"))
            page("Browse", f"/{area}", area)
            if rng.random() < 0.5:
                emit("track", "Product Viewed", {"product_id": f"p{rng.randint(1, 400):03d}", "product_area": area})
            if rng.random() < 0.3:
                emit(
                    "track",
                    "API Request",
                    {
                        "endpoint": f"/api/{area}",
                        "product_area": area,
                        "latency_ms": rng.randint(40, 900),
                        "status_code": 200,
                    },
                )
        if not customer.signed_up and rng.random() < (0.2 if bad_journey and pain else 0.45):
            customer.signed_up = True
            customer_id = self._customer_id(index)
            self.signed_up.append(index)
            emit("identify", "", {})
            emit("track", "Signed Up", {"method": "email"})
        if customer_id is not None and rng.random() < 0.55:
            emit("track", "Product Added", {"product_id": f"p{rng.randint(1, 400):03d}", "product_area": "catalog"})
            page("Checkout", "/checkout", "checkout")
            if rng.random() < (0.35 if pain else 0.65):
                page("Billing", "/billing", "billing")
                emit(
                    "track",
                    "Order Completed",
                    {"order_id": f"o-{_uuid(rng)[:13]}", "revenue": round(rng.uniform(15, 240), 2), "currency": "EUR"},
                )
        customer.pain += pain
        self._write_events(files, day_start, offset, lines)
        if customer_id is not None and rng.random() < 0.12:
            self._feedback(files, day_start, at + rng.uniform(60, 3600), index, pain, release)

    def _write_events(self, files: _DayFiles, day_start: datetime, offset: int, lines: list[tuple[float, str]]) -> None:
        rng = self.rng
        for at, line in lines:
            if at >= 86400:
                self.carry.append(line)  # belongs to tomorrow's file
                continue
            if offset + 1 < self.days and rng.random() < 0.004:
                self.carry.append(line)  # arrives a day late: within the lookback window, not bad
                continue
            files.write("experience", "events", "ndjson", line)
            if self._is_bad():
                self._bad_event(files, day_start, line, offset)

    def _bad_event(self, files: _DayFiles, day_start: datetime, line: str, offset: int) -> None:
        rng = self.rng
        kind = rng.choice(("malformed_json", "wrong_type", "missing_field", "duplicate_id", "late_event"))
        record = json.loads(line)
        if kind == "malformed_json":
            bad = line[: max(10, len(line) // 2)]
        elif kind == "duplicate_id":
            if offset + 1 < self.days and rng.random() < 0.3:
                self.carry.append(line)
                self.state.bad[kind] += 1
                return
            bad = line
        else:
            record["messageId"] = _uuid(rng)
            if kind == "wrong_type":
                record["timestamp"] = rng.choice(("not-a-date", "yesterday", "2026-13-45T99:00:00Z"))
            elif kind == "missing_field":
                del record[rng.choice(("messageId", "timestamp", "type"))]
            else:  # late_event: written today, stamped 5-12 days ago
                record["timestamp"] = _ts(day_start, -rng.uniform(5, 12) * 86400)
            bad = _dump(record)
        files.write("experience", "events", "ndjson", bad)
        self.state.bad[kind] += 1

    def _feedback(
        self, files: _DayFiles, day_start: datetime, at: float, index: int, pain: int, release: _Release
    ) -> None:
        rng = self.rng
        customer = self.customers[index]
        hurt = customer.pain + pain
        kind = rng.choices(
            ("nps", "csat", "ticket", "feature_request", "review"), weights=(40, 20, 25 if pain else 3, 8, 10)
        )[0]
        area = rng.choice(("checkout", "billing")) if pain and rng.random() < 0.7 else rng.choice(AREAS)
        score: int | None
        if kind == "nps":
            score = max(0, min(10, round(rng.gauss(9.2 - 1.6 * hurt, 1.2))))
            text = "Works great" if score >= 9 else "It's ok" if score >= 7 else "Too many problems at " + area
        elif kind in ("csat", "review"):
            score = max(1, min(5, round(rng.gauss(4.6 - 0.8 * hurt, 0.7))))
            text = "Smooth" if score >= 4 else "Slow and buggy"
        elif kind == "ticket":
            score, text = None, f"Error at {area}, please help"
        else:
            score, text = None, rng.choice(("Dark mode please", "Export to CSV", "Saved carts", "Better filters"))
        record: dict[str, Any] = {
            "feedback_id": f"fb-{_uuid(rng)[:18]}",
            "kind": kind,
            "customer_id": self._customer_id(index),
            "submitted_at": _ts(day_start, min(at, 86399)),
            "product_area": area,
            "product_version": release.version,
            "score": score,
            "text": text,
        }
        line = _dump(record)
        files.write("product", "feedback", "ndjson", line)
        if self._is_bad():
            bad_kind = rng.choice(("malformed_json", "wrong_type", "missing_field"))
            if bad_kind == "malformed_json":
                bad = line[: len(line) // 2]
            else:
                record["feedback_id"] = f"fb-{_uuid(rng)[:18]}"
                if bad_kind == "wrong_type":
                    record["score"] = "ten"
                    record["kind"] = "nps"
                else:
                    record["customer_id"] = ""
                bad = _dump(record)
            files.write("product", "feedback", "ndjson", bad)
            self.state.bad[bad_kind] += 1

    def _touches(self, files: _DayFiles, day_start: datetime, offset: int, release: _Release) -> None:
        rng = self.rng
        header = _header("touches")
        owned = [c for c in CAMPAIGNS if not c.paid and self._active(c, offset)]
        for campaign in owned:
            share = 0.08 if campaign.channel == "email" else 0.05
            send_at = rng.uniform(6, 10) * 3600
            for index in self.signed_up:
                if rng.random() >= share:
                    continue
                customer_id = self._customer_id(index)
                actions = ["sent"]
                if rng.random() < 0.4:
                    actions.append("opened")
                    if rng.random() < 0.3:
                        actions.append("clicked")
                at = send_at
                for action in actions:
                    row = [
                        f"t-{_uuid(rng)[:18]}",
                        campaign.campaign_id,
                        customer_id,
                        campaign.channel,
                        action,
                        _ts(day_start, at),
                    ]
                    files.write("marketing", "touches", "csv", _csv(row), header)
                    if self._is_bad() or (
                        offset == 0 and self.state.bad_fraction > 0 and not self.state.bad["unknown_campaign"]
                    ):
                        self._bad_touch(files, row, header)
                    at += rng.uniform(300, 7200)
                if "clicked" in actions:
                    self._session(
                        files, day_start, offset, index, first=False, release=release, touch=campaign, at=min(at, 86000)
                    )

    def _bad_touch(self, files: _DayFiles, row: Sequence[object], header: str) -> None:
        kind = self.rng.choice(("unknown_campaign", "duplicate_id", "missing_field", "wrong_type"))
        if not self.state.bad["unknown_campaign"]:
            kind = "unknown_campaign"
        bad = list(row)
        if kind == "unknown_campaign":
            bad[0], bad[1] = f"t-{_uuid(self.rng)[:18]}", f"cmp_unknown_{self.rng.randint(1, 9)}"
        elif kind == "missing_field":
            bad[0], bad[2] = f"t-{_uuid(self.rng)[:18]}", ""
        elif kind == "wrong_type":
            bad[0], bad[5] = f"t-{_uuid(self.rng)[:18]}", "yesterday"
        files.write("marketing", "touches", "csv", _csv(bad), header)
        self.state.bad[kind] += 1

    def _ad_performance(self, files: _DayFiles, day: date, offset: int) -> None:
        rng = self.rng
        header = _header("ad_performance")
        for campaign in CAMPAIGNS:
            if not campaign.paid or not self._active(campaign, offset):
                continue
            sessions = self.session_counts[campaign.campaign_id]
            clicks = int(sessions * rng.uniform(1.1, 1.6)) + rng.randint(0, 3)
            impressions = clicks * rng.randint(40, 120) + rng.randint(100, 900)
            spend = round(clicks * CPC[campaign.channel] * rng.uniform(0.8, 1.2), 2)
            row: list[object] = [day.isoformat(), campaign.campaign_id, f"{spend:.2f}", "EUR", impressions, clicks]
            files.write("marketing", "ad_performance", "csv", _csv(row), header)
        first_bad_day = offset == 0 and self.state.bad_fraction > 0
        if first_bad_day or self._is_bad():
            row = [day.isoformat(), f"cmp_unknown_{rng.randint(1, 9)}", "12.00", "EUR", 1000, 10]
            files.write("marketing", "ad_performance", "csv", _csv(row), header)
            self.state.bad["unknown_campaign"] += 1
        if first_bad_day or self._is_bad():
            row = [day.isoformat(), CAMPAIGNS[0].campaign_id, "€12", "EUR", "12k", 10]
            files.write("marketing", "ad_performance", "csv", _csv(row), header)
            self.state.bad["wrong_type"] += 1

    def finish(self) -> None:
        # Events that spilled past the last day are dropped: they belong to a day outside the period.
        self.carry = []


def generate(
    landing_dir: Path,
    *,
    customers: int = 3000,
    days: int = 21,
    start: date = date(2026, 3, 2),
    seed: int = 7,
    bad_fraction: float = 0.01,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationSummary:
    """Write ``days`` days of landing files for ``customers`` customers into ``landing_dir``."""
    if customers < 1 or days < 1:
        raise ValueError("customers and days must be at least 1")
    if not 0 <= bad_fraction < 0.5:
        raise ValueError("bad_fraction must be between 0 and 0.5")
    landing_dir = Path(landing_dir)
    generator = _Generator(landing_dir, customers, days, start, seed, bad_fraction)
    for offset in range(days):
        generator.day(offset)
        if progress is not None:
            progress(offset + 1, days)
    generator.finish()
    state = generator.state
    summary = GenerationSummary(
        start=start,
        days=days,
        customers=customers,
        seed=seed,
        files=state.files,
        records={source: state.records[source] for source in SOURCES},
        bad_records={kind: state.bad[kind] for kind in BAD_KINDS},
        events=state.records["events"],
    )
    manifest = landing_dir / "_generator" / "manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps(asdict(summary) | {"start": start.isoformat()}, indent=2) + "\n")
    return summary
