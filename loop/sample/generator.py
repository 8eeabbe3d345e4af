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
* Customers are people (:mod:`loop.sample.profiles`): ``identify`` carries their contact traits (``email``,
  ``phone`` in a mix of formats, ``first_name``, ``last_name``, ``country``, ``zip``), and every event carries their
  Segment consent (``context.consent.categoryPreferences``); a few change their mind later. Each campaign names
  the product areas its promise depends on (``promise_areas``, written when the campaigns contract has the field).

**The world reacts to the loop's actions** (``actions``, read from the warehouse by :func:`read_actions`). An action
is taken on its cycle date (or its as-of date, if later) ``d`` and changes nothing before day ``d + 1``, so a day's
files depend only on the actions taken before it. Actions taken outside the period are ignored.

* ``signal`` for product area X: the product team ships a release naming X (written to ``releases``, version
  ``<current>-fix.<n>``) on day ``d + 2``; from that release on, X's error and slow-page probability is multiplied
  by 0.25 (a failing landing page in X included). One fix per area: later signals for an area already being fixed
  change nothing; signals of one day ship in one release.
* ``service_recovery``: treatment customers (contacted by owned channels) come back more often (daily chance 0.20
  instead of 0.12) and answer NPS 2.5 points and CSAT/reviews 1 point better (before rounding; capped at 10 and
  5). Holdout customers behave as before.
* ``retargeting_holdback``: holdout customers are chased by the retargeting campaign ``cmp_display_retarget``: each
  day a 0.15 chance of a session through its landing page that goes to the cart with chance 0.85 (checkout, then
  billing), where they keep meeting the broken area until its fix. Treatment customers are held back: the
  retargeting campaign never brings them back (they still return on their own). Without this action the world has
  no retargeting of known customers.
* ``advocates``: each treatment customer brings a referred new visitor with a daily chance of 0.05; the visitor's
  first session carries ``context.referrer`` (``{"type": "referral", "id": <advocate>}``), signs up with chance 0.6
  (others 0.45), and then lives like any customer (ids after the initial ones).
* ``lookalike_seed``: the ad platform of the paid campaign that acquired most of the seed's treatment customers
  (the promise-keeping campaign) finds better-fitting visitors: those it acquires after the action meet errors and
  slow pages 0.6 times as often in their first 3 days.

Same arguments and same actions, same bytes: all randomness comes from one seeded ``random.Random`` (profiles from
a generator per customer seeded with the same seed, so they never shift it); no wall clock is read. Without
actions, not one random draw changes. With ``days_to_write``, every day up to the last one written is simulated and
only those days are written, with the bytes a full run gives them. Memory is O(customers): each day's events are
written as they are made.
"""

from __future__ import annotations

import contextlib
import json
import random
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from loop.sample import feedback_texts
from loop.sample.actions import Actions, customer_index
from loop.sample.profiles import Profile, profile

BAD_KINDS = (
    "malformed_json",
    "wrong_type",
    "missing_field",
    "duplicate_id",
    "late_event",
    "unknown_campaign",
    "bad_date",
    "bad_currency",
)
SOURCES = ("campaigns", "ad_performance", "currency_rates", "touches", "events", "feedback", "releases")
#: Where each source's day file goes: (pillar, extension).
SOURCE_FILES = {
    "campaigns": ("marketing", "csv"),
    "ad_performance": ("marketing", "csv"),
    "currency_rates": ("marketing", "csv"),
    "touches": ("marketing", "csv"),
    "events": ("experience", "ndjson"),
    "feedback": ("product", "ndjson"),
    "releases": ("product", "csv"),
}
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
#: How the world reacts to the loop's actions (see the module docstring).
RETURN_RATE = 0.12  # daily chance that a signed-up customer comes back on their own
FIX_DELAY_DAYS = 2  # a signal of cycle date d: the fix ships on d + 2
FIX_FACTOR = 0.25  # ... and multiplies the area's error and slow-page probability
RECOVERED_RETURN_RATE = 0.20  # service_recovery treatment: daily return chance instead of RETURN_RATE
RECOVERED_NPS_LIFT = 2.5  # ... NPS points (before rounding, capped at 10)
RECOVERED_CSAT_LIFT = 1.0  # ... CSAT / review points (capped at 5)
RETARGET_CAMPAIGN = "cmp_display_retarget"
RETARGET_RATE = 0.15  # retargeting_holdback holdout: daily chance the retargeting campaign brings them back
RETARGET_CART_RATE = 0.85  # ... and that such a session goes to the cart (checkout, then billing)
REFERRAL_RATE = 0.05  # advocates treatment: daily chance of bringing a referred new visitor
REFERRED_SIGNUP_RATE = 0.6  # ... who signs up in their first session with this chance (others: 0.45)
LOOKALIKE_FACTOR = 0.6  # lookalike_seed: error probability of the lookalike campaign's new visitors ...
LOOKALIKE_DAYS = 3  # ... during their first days
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
    promise_areas: str = ""  # ';'-separated product areas the promise depends on

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
        promise_areas="checkout",
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
        promise_areas="checkout;billing",
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
        promise_areas="catalog;checkout",
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
        promise_areas="catalog;checkout",
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
        promise_areas="onboarding;account",
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
        promise_areas="catalog",
    ),
    Campaign(
        "cmp_display_brand",
        "Just works",
        "display",
        "awareness",
        "The app that just works",
        2500,
        "broad",
        0.0,
        0.8,
        promise_areas="onboarding;search;catalog",
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
        promise_areas="catalog;checkout",
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
        promise_areas="checkout;billing",
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
        promise_areas="checkout",
    ),
    Campaign(
        "cmp_push_flash",
        "Flash sale",
        "push",
        "retention",
        "Flash sale: 24 hours only",
        300,
        "app users",
        0.0,
        0.0,
        promise_areas="catalog;checkout",
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
        promise_areas="catalog",
    ),
)
CPC = {"paid_search": 1.2, "paid_social": 0.7, "display": 0.4, "affiliate": 0.9}
#: Ad spend comes as the platforms export it: paid search as a Google Ads campaign report (file name, spend in EUR),
#: paid social as a Meta Ads Manager export in BRL; the other channels in loop's generic CSV (part-0000.csv).
PLATFORM_FILES = {"paid_search": "google-ads.csv", "paid_social": "meta-ads.csv"}
GENERIC_AD_HEADER = "date,campaign_id,spend,currency,impressions,clicks"
GOOGLE_HEADER = "Day,Campaign,Campaign ID,Currency code,Cost,Impr.,Clicks"
META_HEADER = "Reporting starts,Reporting ends,Campaign name,Campaign ID,Amount spent (BRL),Impressions,Link clicks"


def brl_rate(offset: int) -> float:
    """EUR per BRL on the day ``offset`` of the period (no random draw: the story's draws never shift)."""
    return round(0.16 + 0.001 * (offset % 5), 4)


USD_RATE = 0.92  # EUR per USD, every day


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
    days_written: tuple[str, ...] = ()  # ISO dates of the days whose files were written
    actions: int = 0  # recorded actions the world was given


@dataclass
class _Customer:
    anonymous_id: str
    first_day: int
    campaign: Campaign | None
    signed_up: bool = False
    pain: int = 0  # errors and slow pages lived so far
    referred_by: int | None = None  # the advocate (customer index) who brought this visitor
    profile: Profile | None = None  # drawn on first use


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
    records: Counter[str] = field(default_factory=Counter)  # written
    bad: Counter[str] = field(default_factory=Counter)  # planted, whether written or not (drives the story)
    bad_written: Counter[str] = field(default_factory=Counter)
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


class _Reactions:
    """What the recorded actions change in the world, by day offset (see the module docstring).

    An action of cycle date ``d`` changes nothing before day ``d + 1``: the days up to ``d`` come out the same
    whether or not it was taken, which is what lets ``loop demo`` write one day at a time.
    """

    def __init__(self, actions: Actions, start: date, days: int, planned: list[_Release]) -> None:
        self.fixed: dict[str, int] = {}  # product area -> the day its fix is live
        self.fix_releases: list[_Release] = []
        self.recovered: dict[int, int] = {}  # service_recovery treatment: customer index -> from day
        self.held_back: dict[int, int] = {}  # retargeting_holdback treatment
        self.retargeted: dict[int, int] = {}  # retargeting_holdback holdout
        self.advocates: dict[int, int] = {}  # advocates treatment
        self.seeds: list[tuple[int, tuple[int, ...]]] = []  # lookalike_seed: (from day, treatment)
        self.lookalike: dict[str, int] = {}  # campaign id -> from day (resolved on that day)
        self.count = 0
        fixes: dict[int, list[tuple[str, str | None]]] = {}
        for action in actions:
            offset = (action.day - start).days
            if not 0 <= offset < days:
                continue  # taken outside the period
            self.count += 1
            since = offset + 1
            if action.kind == "signal":
                area = action.product_area
                if area in AREAS and area not in {a for todo in fixes.values() for a, _ in todo}:
                    fixes.setdefault(offset + FIX_DELAY_DAYS, []).append((area, action.symptom))
                continue
            if action.kind != "audience_export":
                continue
            treatment = [i for i in map(customer_index, action.treatment) if i is not None]
            holdout = [i for i in map(customer_index, action.holdout) if i is not None]
            if action.subject == "service_recovery":
                for index in treatment:
                    self.recovered.setdefault(index, since)
            elif action.subject == "retargeting_holdback":
                for index in treatment:
                    self.held_back.setdefault(index, since)
                for index in holdout:
                    self.retargeted.setdefault(index, since)
            elif action.subject == "advocates":
                for index in treatment:
                    self.advocates.setdefault(index, since)
            elif action.subject == "lookalike_seed" and treatment:
                self.seeds.append((since, tuple(treatment)))
        for number, day in enumerate(sorted(d for d in fixes if d < days), start=1):
            found = sorted(fixes[day], key=lambda item: AREAS.index(item[0]))
            areas = tuple(area for area, _ in found)
            notes = "Fixes " + "; ".join(f"{area} ({symptom})" if symptom else area for area, symptom in found)
            base = _current_release(planned, day).version
            self.fix_releases.append(_Release(f"{base}-fix.{number}", day, areas, notes))
            for area in areas:
                self.fixed[area] = day
        self.retargeted_order = sorted(self.retargeted.items())
        self.advocate_order = sorted(self.advocates.items())

    def quality(self, area: str, offset: int) -> float:
        """The factor on an area's error and slow-page probability on day ``offset`` (1.0, or less once fixed)."""
        fixed = self.fixed.get(area)
        return FIX_FACTOR if fixed is not None and offset >= fixed else 1.0

    def recovered_on(self, index: int, offset: int) -> bool:
        since = self.recovered.get(index)
        return since is not None and offset >= since

    def retargeted_on(self, offset: int) -> list[int]:
        """Holdout customers of a retargeting holdback whom the retargeting campaign still chases that day."""
        out = []
        for index, since in self.retargeted_order:
            held = self.held_back.get(index)
            if since <= offset and not (held is not None and held <= offset):
                out.append(index)
        return out

    def advocates_on(self, offset: int) -> list[int]:
        return [index for index, since in self.advocate_order if since <= offset]


class _DayFiles:
    """The open files of one day, created on first write; a day that is only simulated writes nothing."""

    def __init__(self, landing_dir: Path, day: date, state: _State, *, enabled: bool = True) -> None:
        self.landing_dir, self.day, self.state, self.enabled = landing_dir, day, state, enabled
        self.handles: dict[tuple[str, str], IO[str]] = {}

    def planted(self, kind: str) -> None:
        """Count a planted bad record."""
        self.state.bad[kind] += 1
        if self.enabled:
            self.state.bad_written[kind] += 1

    def write(
        self,
        pillar: str,
        source: str,
        ext: str,
        line: str,
        header: str | None = None,
        *,
        name: str | None = None,
        record: bool = True,
    ) -> None:
        """Write a line to the day's file of ``source`` (``part-0000.<ext>``, or ``name``); ``header`` (lines) opens
        a new file; ``record=False`` for a line that is no record (an export's footer total)."""
        if not self.enabled:
            return
        file_name = name or f"part-0000.{ext}"
        handle = self.handles.get((source, file_name))
        if handle is None:
            folder = self.landing_dir / pillar / source / f"date={self.day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            handle = (folder / file_name).open("w", encoding="utf-8", newline="", buffering=1 << 20)
            if header:
                handle.write(header + "\n")
            self.handles[(source, file_name)] = handle
            self.state.files += 1
        handle.write(line + "\n")
        if record:
            self.state.records[source] += 1

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()
        if not self.enabled:
            return
        # A day written again (other actions, e.g. after a failed cycle of ``loop demo``) may no longer have a file
        # of some source: the generator's file of an earlier run must not stay behind.
        files = [(source, pillar, f"part-0000.{ext}") for source, (pillar, ext) in SOURCE_FILES.items()]
        files += [("ad_performance", "marketing", name) for name in PLATFORM_FILES.values()]
        for source, pillar, file_name in files:
            if (source, file_name) in self.handles:
                continue
            folder = self.landing_dir / pillar / source / f"date={self.day.isoformat()}"
            stale = folder / file_name
            if stale.is_file() and not stale.is_symlink():
                stale.unlink()
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only if nothing else is in it


def _fields(source: str) -> list[str]:
    """The CSV columns of a source, in the contract's field order (the contracts declare them; the sample follows)."""
    from loop.contracts import source_named

    model = source_named(source).model
    return [info.alias or name for name, info in model.model_fields.items()]


def _header(source: str) -> str:
    """A CSV header in the contract's field order."""
    return ",".join(_fields(source))


def _csv(values: Sequence[object]) -> str:
    out = []
    for value in values:
        text = "" if value is None else str(value)
        if any(c in text for c in ',"\n'):
            text = '"' + text.replace('"', '""') + '"'
        out.append(text)
    return ",".join(out)


class _Generator:
    def __init__(
        self,
        landing_dir: Path,
        customers: int,
        days: int,
        start: date,
        seed: int,
        bad: float,
        actions: Actions | None = None,
    ) -> None:
        self.landing_dir, self.days, self.start, self.seed = landing_dir, days, start, seed
        self.state = _State(random.Random(seed), start, bad)
        self.rng = self.state.rng
        self.releases = _releases(days, start)  # the planned releases
        reactions = _Reactions(actions or Actions(), start, days, self.releases)
        self.reactions = reactions if reactions.count else None
        self.all_releases = sorted(self.releases + reactions.fix_releases, key=lambda r: r.day)
        self.checkout_regression = False  # 2.4.0 (planned) is the current release
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

    def _profile(self, index: int) -> Profile:
        customer = self.customers[index]
        if customer.profile is None:
            customer.profile = profile(self.seed, index, customer.first_day)
        return customer.profile

    def _return_rate(self, index: int, offset: int) -> float:
        if self.reactions is not None and self.reactions.recovered_on(index, offset):
            return RECOVERED_RETURN_RATE
        return RETURN_RATE

    # -- one day ---------------------------------------------------------------------------------------------
    def day(self, offset: int, *, write: bool = True) -> None:
        day = self.start + timedelta(days=offset)
        day_start = datetime(day.year, day.month, day.day)
        files = _DayFiles(self.landing_dir, day, self.state, enabled=write)
        self.session_counts.clear()
        events: list[str] = self.carry
        self.carry = []
        for line in events:
            files.write("experience", "events", "ndjson", line)
        release = _current_release(self.all_releases, offset)
        self.checkout_regression = _current_release(self.releases, offset).version == "2.4.0"
        if self.reactions is not None:
            self._resolve_lookalike(offset)
        self._catalog(files, offset)
        self._release(files, offset, day)
        # New visitors of the day, then returning customers, then owned-channel clicks.
        for index in self.by_first_day[offset]:
            self._session(files, day_start, offset, index, first=True, release=release)
        for index in list(self.signed_up):
            if self.customers[index].first_day < offset and self.rng.random() < self._return_rate(index, offset):
                self._session(files, day_start, offset, index, first=False, release=release)
        self._touches(files, day_start, offset, release)
        if self.reactions is not None:
            self._react(files, day_start, offset, release)
        self._ad_performance(files, day, offset)
        files.close()

    def _resolve_lookalike(self, offset: int) -> None:
        """A lookalike seed goes to the ad platform of the paid campaign that acquired most of its members."""
        assert self.reactions is not None
        for since, members in self.reactions.seeds:
            if since != offset:
                continue
            acquired = Counter(
                campaign.campaign_id
                for i in members
                if i < len(self.customers) and (campaign := self.customers[i].campaign) is not None
            )
            if acquired:
                order = [c.campaign_id for c in CAMPAIGNS]
                best = max(acquired, key=lambda cid: (acquired[cid], -order.index(cid)))
                self.reactions.lookalike.setdefault(best, since)

    def _react(self, files: _DayFiles, day_start: datetime, offset: int, release: _Release) -> None:
        """Sessions the actions bring about: retargeting of held-out customers, visitors referred by advocates."""
        assert self.reactions is not None
        rng = self.rng
        retarget = next(c for c in CAMPAIGNS if c.campaign_id == RETARGET_CAMPAIGN)
        if self._active(retarget, offset):
            for index in self.reactions.retargeted_on(offset):
                if index < len(self.customers) and self.customers[index].signed_up and rng.random() < RETARGET_RATE:
                    self._session(
                        files, day_start, offset, index, first=False, release=release, touch=retarget, retarget=True
                    )
        for index in self.reactions.advocates_on(offset):
            if index < len(self.customers) and self.customers[index].signed_up and rng.random() < REFERRAL_RATE:
                referred = len(self.customers)
                self.customers.append(_Customer(_uuid(rng), offset, None, referred_by=index))
                self._session(files, day_start, offset, referred, first=True, release=release)

    def _catalog(self, files: _DayFiles, offset: int) -> None:
        starts = {int(c.starts * self.days) for c in CAMPAIGNS}
        if offset != 0 and offset not in starts:
            return
        columns = _fields("campaigns")  # promise_areas is written once (and only if) the contract has it
        header = ",".join(columns)
        for c in CAMPAIGNS:
            if not self._active(c, offset):
                continue
            begin = self.start + timedelta(days=int(c.starts * self.days))
            end = self.start + timedelta(days=self.days + 30)
            values: dict[str, object] = {
                "campaign_id": c.campaign_id,
                "campaign_name": c.name,
                "channel": c.channel,
                "objective": c.objective,
                "promise": c.promise,
                "start_date": begin.isoformat(),
                "end_date": end.isoformat(),
                "budget": f"{c.budget}.00",
                "currency": "EUR",
                "target_segment": c.segment,
                "promise_areas": c.promise_areas,
            }
            files.write("marketing", "campaigns", "csv", _csv([values.get(name) for name in columns]), header)

    def _release(self, files: _DayFiles, offset: int, day: date) -> None:
        for release in self.all_releases:
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
        retarget: bool = False,
    ) -> None:
        rng = self.rng
        customer = self.customers[index]
        customer_id = self._customer_id(index) if customer.signed_up else None
        campaign = customer.campaign if first else touch
        reactions = self.reactions
        fit = 1.0  # a lookalike audience's visitors meet fewer errors early on
        if reactions is not None and customer.campaign is not None and offset - customer.first_day < LOOKALIKE_DAYS:
            since = reactions.lookalike.get(customer.campaign.campaign_id)
            if since is not None and customer.first_day >= since:
                fit = LOOKALIKE_FACTOR
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
        context["consent"] = {"categoryPreferences": self._profile(index).consent_on(offset)}
        if first and customer.referred_by is not None:
            context["referrer"] = {"type": "referral", "id": self._customer_id(customer.referred_by)}
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
                record["traits"] = {
                    "plan": "free",
                    "segment": campaign.segment
                    if campaign
                    else "referral"
                    if customer.referred_by is not None
                    else "organic",
                } | self._profile(index).traits()
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
            if self.checkout_regression and area == "checkout":
                error_rate *= 3
            slow = bad_journey and path.startswith("/lp/")
            if reactions is not None:
                quality = reactions.quality(area, offset)
                if quality != 1.0:  # fixed: fewer errors and slow pages, the bad landing page included
                    error_rate *= quality
                    slow = slow and rng.random() < quality
                if fit != 1.0:
                    error_rate *= fit
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

        paid_landing = campaign is not None and campaign.paid and (first or retarget)
        landing = campaign.landing_path if paid_landing and campaign is not None else "/"
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
        signup_rate = (
            REFERRED_SIGNUP_RATE if customer.referred_by is not None else 0.2 if bad_journey and pain else 0.45
        )
        if not customer.signed_up and rng.random() < signup_rate:
            customer.signed_up = True
            customer_id = self._customer_id(index)
            self.signed_up.append(index)
            emit("identify", "", {})
            emit("track", "Signed Up", {"method": "email"})
        if customer_id is not None and rng.random() < (RETARGET_CART_RATE if retarget else 0.55):
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
            self._feedback(files, day_start, offset, at + rng.uniform(60, 3600), index, pain, release)

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
                files.planted(kind)
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
        files.planted(kind)

    def _feedback(
        self, files: _DayFiles, day_start: datetime, offset: int, at: float, index: int, pain: int, release: _Release
    ) -> None:
        rng = self.rng
        customer = self.customers[index]
        hurt = customer.pain + pain
        recovered = self.reactions is not None and self.reactions.recovered_on(index, offset)
        kind = rng.choices(
            ("nps", "csat", "ticket", "feature_request", "review"), weights=(40, 20, 25 if pain else 3, 8, 10)
        )[0]
        area = rng.choice(("checkout", "billing")) if pain and rng.random() < 0.7 else rng.choice(AREAS)
        score: int | None
        if kind == "nps":
            mean = 9.2 - 1.6 * hurt
            if recovered:
                mean += RECOVERED_NPS_LIFT
            score = max(0, min(10, round(rng.gauss(mean, 1.2))))
            text = "Works great" if score >= 9 else "It's ok" if score >= 7 else "Too many problems at " + area
        elif kind in ("csat", "review"):
            mean = 4.6 - 0.8 * hurt
            if recovered:
                mean += RECOVERED_CSAT_LIFT
            score = max(1, min(5, round(rng.gauss(mean, 0.7))))
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
        # Channel, ticket handling, votes and the words: drawn from the feedback id, never from self.rng (every other
        # figure of the sample stays as it was).
        submitted = int(min(at, 86399))
        extra = feedback_texts.details(record["feedback_id"], kind, area, score, 86399 - submitted)
        fields = extra.fields(lambda after: _ts(day_start, submitted + after))
        record |= {name: value for name, value in fields.items() if value is not None}
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
            files.planted(bad_kind)

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
        files.planted(kind)

    def _ad_performance(self, files: _DayFiles, day: date, offset: int) -> None:
        """The day's ad spend as the platforms export it (see PLATFORM_FILES), and the day's currency rates.

        The random draws are the same, in the same order, whatever the shapes: only how each row is written differs.
        """
        rng = self.rng
        brl = brl_rate(offset)
        header = GENERIC_AD_HEADER
        google: list[tuple[str, int, float, int, int]] = []  # name, platform id, spend, impressions, clicks
        for campaign in CAMPAIGNS:
            if not campaign.paid or not self._active(campaign, offset):
                continue
            sessions = self.session_counts[campaign.campaign_id]
            clicks = int(sessions * rng.uniform(1.1, 1.6)) + rng.randint(0, 3)
            impressions = clicks * rng.randint(40, 120) + rng.randint(100, 900)
            spend = round(clicks * CPC[campaign.channel] * rng.uniform(0.8, 1.2), 2)
            platform_id = 17_000_000 + CAMPAIGNS.index(campaign)
            if campaign.channel == "paid_search":
                google.append((campaign.name, platform_id, spend, impressions, clicks))
            elif campaign.channel == "paid_social":
                row: list[object] = [day.isoformat(), day.isoformat(), campaign.name, 23_850_000 + platform_id % 100]
                row += [f"{round(spend / brl, 2):.2f}", impressions, clicks]
                files.write(
                    "marketing", "ad_performance", "csv", _csv(row), META_HEADER, name=PLATFORM_FILES["paid_social"]
                )
            else:
                row = [day.isoformat(), campaign.campaign_id, f"{spend:.2f}", "EUR", impressions, clicks]
                files.write("marketing", "ad_performance", "csv", _csv(row), header)
        first_bad_day = offset == 0 and self.state.bad_fraction > 0
        if first_bad_day or self._is_bad():
            row = [day.isoformat(), f"cmp_unknown_{rng.randint(1, 9)}", "12.00", "EUR", 1000, 10]
            files.write("marketing", "ad_performance", "csv", _csv(row), header)
            files.planted("unknown_campaign")
        if first_bad_day or self._is_bad():
            row = [day.isoformat(), CAMPAIGNS[0].campaign_id, "€12", "EUR", "12k", 10]
            files.write("marketing", "ad_performance", "csv", _csv(row), header)
            files.planted("wrong_type")
        # Bad rows of the export shapes, on the first day and every seventh (no random draw).
        planted = self.state.bad_fraction > 0 and offset % 7 == 0
        google_file = PLATFORM_FILES["paid_search"]
        preamble = (
            _csv(["Campaign report"])
            + "\n"
            + _csv([f"{day:%B} {day.day}, {day.year} - {day:%B} {day.day}, {day.year}"])
        )
        google_header = preamble + "\n" + GOOGLE_HEADER
        for name, platform_id, spend, impressions, clicks in google:
            files.write(
                "marketing",
                "ad_performance",
                "csv",
                _csv([day.isoformat(), name, platform_id, "EUR", f"{spend:,.2f}", f"{impressions:,}", clicks]),
                google_header,
                name=google_file,
            )
        if planted and google:
            name = google[0][0]
            bad_day = [day.strftime("%d/%m/%Y"), name, 17_000_000, "EUR", "1.00", "10", 1]
            files.write("marketing", "ad_performance", "csv", _csv(bad_day), google_header, name=google_file)
            files.planted("bad_date")
            bad_code = [day.isoformat(), name, 17_000_000, "EUX", "1.00", "10", 1]
            files.write("marketing", "ad_performance", "csv", _csv(bad_code), google_header, name=google_file)
            files.planted("bad_currency")
        if google:
            total = sum(spend for _, _, spend, _, _ in google)
            footer = ["Total: Campaigns", "", "", "", f"{total:,.2f}", "", ""]
            files.write(
                "marketing", "ad_performance", "csv", _csv(footer), google_header, name=google_file, record=False
            )
        rates_header = _header("currency_rates")
        files.write("marketing", "currency_rates", "csv", _csv([day.isoformat(), "BRL", f"{brl:.4f}"]), rates_header)
        files.write(
            "marketing", "currency_rates", "csv", _csv([day.isoformat(), "USD", f"{USD_RATE:.4f}"]), rates_header
        )

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
    actions: Actions | None = None,
    days_to_write: Collection[date] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationSummary:
    """Write ``days`` days of landing files for ``customers`` customers into ``landing_dir``.

    ``actions`` (see :func:`loop.sample.read_actions`) make the world react to what the loop did. With
    ``days_to_write``, only those days' files are written (the files of other days are left as they are); every day
    up to the last of them is simulated, so each written day has exactly the bytes a full run would give it.
    """
    if customers < 1 or days < 1:
        raise ValueError("customers and days must be at least 1")
    if not 0 <= bad_fraction < 0.5:
        raise ValueError("bad_fraction must be between 0 and 0.5")
    period = [start + timedelta(days=offset) for offset in range(days)]
    wanted = set(period) if days_to_write is None else set(days_to_write)
    if not wanted:
        raise ValueError("days_to_write names no day")
    outside = sorted(d for d in wanted if d not in period)
    if outside:
        raise ValueError(f"{outside[0]} is not a day of the period {period[0]} to {period[-1]}")
    landing_dir = Path(landing_dir)
    generator = _Generator(landing_dir, customers, days, start, seed, bad_fraction, actions)
    last = max((period.index(d) for d in wanted), default=days - 1)
    for offset in range(last + 1):
        generator.day(offset, write=period[offset] in wanted)
        if progress is not None:
            progress(offset + 1, last + 1)
    generator.finish()
    state = generator.state
    summary = GenerationSummary(
        start=start,
        days=days,
        customers=customers,
        seed=seed,
        files=state.files,
        records={source: state.records[source] for source in SOURCES},
        bad_records={kind: state.bad_written[kind] for kind in BAD_KINDS},
        events=state.records["events"],
        days_written=tuple(d.isoformat() for d in sorted(wanted)),
        actions=generator.reactions.count if generator.reactions is not None else 0,
    )
    manifest = landing_dir / "_generator" / "manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps(asdict(summary) | {"start": start.isoformat()}, indent=2) + "\n")
    return summary
