"""Feedback export shapes: a Delighted NPS export, a Typeform CSAT download, a Zendesk ticket export, a Google Play
reviews report and loop's generic CSV land into the one feedback model through feedback_exports.toml; their bad rows
are quarantined with reasons, free text keeps its exact characters, and the user's shapes file adds a tool."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from loop.errors import LoopError
from loop.landing import land_pillar
from loop.landing.exports import ShapeError, load_shapes
from loop.settings import Settings
from loop.warehouse import connect

from ..conftest import FIXTURES

EXPORTS = FIXTURES / "landing" / "feedback_exports"
DAY = date(2026, 3, 2)
FOLDER = "product/feedback/date=2026-03-02"
SCALE = "score does not fit the feedback kind (nps 0-10, csat and review 1-5, none for tickets and requests)"


def _put(settings: Settings, *fixtures: str) -> None:
    folder = settings.landing_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for fixture in fixtures:
        shutil.copyfile(EXPORTS / fixture, folder / fixture)


def _at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, second, tzinfo=UTC)


def _reconciles(settings: Settings) -> None:
    """Every file's latest log entry: rows read = rows in raw + rows held."""
    with connect(settings, write=False) as con:
        rows = con.execute(
            """
            SELECT l.source_file, l.rows_read, l.rows_loaded, l.rows_quarantined,
                   (SELECT count(*) FROM raw.feedback r WHERE r._source_file = l.source_file),
                   (SELECT count(*) FROM ops.quarantine q WHERE q.source_file = l.source_file AND released_at IS NULL)
            FROM ops.landing_log l WHERE l.source = 'feedback'
            QUALIFY row_number() OVER (PARTITION BY l.source_file ORDER BY l.landed_at DESC) = 1
            """
        ).fetchall()
    assert rows
    for file, read, loaded, held, in_raw, in_quarantine in rows:
        assert read == loaded + held and (loaded, held) == (in_raw, in_quarantine), file


ALL = ("generic.csv", "delighted_nps.csv", "typeform_csat.csv", "zendesk.csv", "google_play.csv")


def _raw(settings: Settings, where: str = "true") -> list[tuple[object, ...]]:
    with connect(settings, write=False) as con:
        return con.execute(
            "SELECT feedback_id, kind, customer_id, submitted_at, product_area, product_version, score, channel, "
            f"ticket_status, first_reply_at, resolved_at, votes FROM raw.feedback WHERE {where} ORDER BY feedback_id"
        ).fetchall()


def test_every_tool_lands_into_the_one_feedback_model(settings: Settings) -> None:
    _put(settings, *ALL)
    results = land_pillar(settings, "product", DAY)
    counts = {r.file.rsplit("/", 1)[1]: (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) for r in results}
    assert counts == {
        "delighted_nps.csv": ("landed", 4, 2, 2),
        "generic.csv": ("landed", 5, 3, 2),
        "google_play.csv": ("landed", 4, 2, 2),
        "typeform_csat.csv": ("landed", 3, 2, 1),
        "zendesk.csv": ("landed", 4, 2, 2),
    }
    # Every column of each export is either mapped or known and ignored: no schema drift.
    assert all(r.new_columns == () for r in results)
    _reconciles(settings)
    assert _raw(settings, "feedback_id NOT LIKE 'fb-%'") == [
        # Delighted: the -03:00 offset kept as the instant it is; kind and channel are the export's constants.
        ("dl-48213907", "nps", "cus_1", _at(12, 15), "checkout", "2.4.0", 9, "email", None, None, None, None),
        ("dl-48213911", "nps", "cus_2", _at(11, 2, 41), "search", "2.4.0", 3, "email", None, None, None, None),
        # Google Play: the id is the reviewId of the Review Link; the customer is the column the shop added.
        (
            "gp:AOqpTOH1a2b3",
            "review",
            "cus_12",
            _at(7, 45, 12),
            "app",
            "2.4.0",
            1,
            "play_store",
            None,
            None,
            None,
            None,
        ),
        ("gp:AOqpTOH4c5d6", "review", "cus_13", _at(12, 30), "app", "2.4.0", 5, "play_store", None, None, None, None),
        # Typeform: the CSAT labels mapped to 1-5.
        (
            "tf-b2n5c8v1x4z7m0q3w6e9",
            "csat",
            "cus_6",
            _at(15, 11, 5),
            "checkout",
            "2.4.0",
            2,
            "web",
            None,
            None,
            None,
            None,
        ),
        (
            "tf-x8kq2m1v9d0pw3lz7ya1",
            "csat",
            "cus_5",
            _at(14, 2, 30),
            "checkout",
            "2.4.0",
            5,
            "web",
            None,
            None,
            None,
            None,
        ),
        # Zendesk: status and product area mapped, the first reply 42 (15) minutes after the ticket was created.
        (
            "zd-10231",
            "ticket",
            "cus_8",
            _at(8),
            "checkout",
            "2.4.0",
            None,
            "help_desk",
            "solved",
            _at(8, 42),
            _at(10, 30),
            None,
        ),
        (
            "zd-10232",
            "ticket",
            "cus_9",
            _at(9, 30),
            "billing",
            "2.4.0",
            None,
            "help_desk",
            "on_hold",
            _at(9, 45),
            None,
            None,
        ),
    ]
    assert _raw(settings, "feedback_id LIKE 'fb-%'") == [
        ("fb-1", "nps", "cus_1", _at(8, 15), "checkout", "2.4.0", 10, "in_app", None, None, None, None),
        ("fb-2", "ticket", "cus_2", _at(9), "billing", "2.4.0", None, "help_desk", "solved", _at(9, 20), _at(13), None),
        ("fb-3", "feature_request", "cus_3", _at(10), "search", "2.4.0", None, "web", None, None, None, 17),
    ]
    with connect(settings, write=False) as con:
        shapes = con.execute("SELECT DISTINCT export_shape FROM ops.quarantine ORDER BY 1").fetchall()
    assert shapes == [("delighted_nps",), ("generic",), ("google_play",), ("typeform_csat",), ("zendesk",)]


def test_free_text_keeps_its_exact_characters(settings: Settings) -> None:
    _put(settings, *ALL)
    land_pillar(settings, "product", DAY)
    with connect(settings, write=False) as con:
        texts = dict(con.execute("SELECT feedback_id, text FROM raw.feedback").fetchall())
    # Newlines inside a quoted comment are part of the text, as are accents, dashes and emoji (in UTF-8 and in the
    # UTF-16 Play report alike).
    assert texts["fb-1"] == "Checkout in two taps.\nLove it — really!"
    assert texts["dl-48213907"] == "Adorei o checkout novo!\nMuito mais rápido que antes."
    assert texts["dl-48213911"] == "Search never finds what I type. Ärgerlich."
    assert texts["tf-x8kq2m1v9d0pw3lz7ya1"] == "Nada!\n\nSó continuem assim 🙌"
    assert texts["gp:AOqpTOH1a2b3"] == "Não consigo pagar com Pix.\nO app trava na tela de pagamento."
    assert texts["zd-10231"] == "Pagamento recusado no cartão"


def test_bad_rows_are_quarantined_with_their_reason(settings: Settings) -> None:
    _put(settings, *ALL)
    land_pillar(settings, "product", DAY)
    with connect(settings, write=False) as con:
        held = con.execute(
            "SELECT regexp_extract(source_file, '[^/]+$'), row_number, reason_kind, reason, payload "
            "FROM ops.quarantine ORDER BY ALL"
        ).fetchall()
    assert [row[:4] for row in held] == [
        (
            "delighted_nps.csv",
            3,
            "contract",
            "submitted_at '02/03/2026 10:00' does not match the Delighted NPS timestamp format %Y-%m-%d %H:%M:%S %z "
            "or %Y-%m-%dT%H:%M:%S%z",
        ),
        ("delighted_nps.csv", 4, "rule", SCALE),
        ("generic.csv", 4, "rule", SCALE),
        (
            "generic.csv",
            5,
            "contract",
            '"ticket_status" must be one of new, open, pending, on_hold, solved, closed: escalated',
        ),
        ("google_play.csv", 3, "contract", 'missing required field "customer_id"'),
        (
            "google_play.csv",
            4,
            "contract",
            "feedback_id 'https://play.google.com/console/developers/5012/app/4973/user-feedback' does not hold the "
            "Google Play reviews value the shape extracts (reviewId=(?P<value>[^&]+))",
        ),
        (
            "typeform_csat.csv",
            3,
            "contract",
            "score 'Extremely satisfied' is not a Typeform CSAT value the shape knows (Very dissatisfied, "
            "Dissatisfied, Neutral, Satisfied, Very satisfied)",
        ),
        (
            "zendesk.csv",
            3,
            "contract",
            "ticket_status 'Escalated' is not a Zendesk value the shape knows (New, Open, Pending, On-hold, Solved, "
            "Closed)",
        ),
        (
            "zendesk.csv",
            4,
            "contract",
            "product_area 'Shipping' is not a Zendesk value the shape knows (Onboarding, Search, Catalog, Checkout, "
            "Billing, Account)",
        ),
    ]
    # The quarantine keeps the export's own values under its own header names.
    zendesk = json.loads(held[7][4])
    assert (zendesk["Id"], zendesk["Status"], zendesk["Subject"]) == ("10233", "Escalated", "App crashes when I search")


SURVEYMONKEY = """
[shapes.surveymonkey_csat]
label = "SurveyMonkey CSAT"
recognise = { columns = ["Respondent ID", "End Date", "Overall, how satisfied are you?"] }
timestamp_formats = ["%m/%d/%Y %I:%M:%S %p"]
timezone = "America/Sao_Paulo"
values = { kind = "csat", channel = "email", product_area = "checkout" }
ignore = ["Collector ID", "Start Date", "IP Address"]
[shapes.surveymonkey_csat.columns]
feedback_id = { header = "Respondent ID", prefix = "sm-" }
customer_id = "Custom Data 1"
submitted_at = "End Date"
product_version = "Custom Data 2"
text = "Anything else?"
[shapes.surveymonkey_csat.columns.score]
header = "Overall, how satisfied are you?"
map = { "Very unsatisfied" = "1", "Unsatisfied" = "2", "Neutral" = "3", "Satisfied" = "4", "Very satisfied" = "5" }
"""

SURVEYMONKEY_CSV = (
    "Respondent ID,Collector ID,Start Date,End Date,IP Address,Custom Data 1,Custom Data 2,"
    '"Overall, how satisfied are you?",Anything else?\n'
    '11401,4242,03/02/2026 09:58:01 AM,03/02/2026 10:00:00 AM,10.0.0.1,cus_20,2.4.0,Satisfied,"Boa experiência,\n'
    'mas o frete é caro."\n'
)


def _user(settings: Settings, tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "feedback_shapes.toml"
    path.write_text(text)
    return settings.model_copy(update={"feedback_export_shapes": path})


def test_a_new_tool_is_a_new_entry_of_the_users_file(settings: Settings, tmp_path: Path) -> None:
    user = _user(settings, tmp_path, SURVEYMONKEY)
    folder = user.landing_dir / FOLDER
    folder.mkdir(parents=True)
    (folder / "monkey.csv").write_text(SURVEYMONKEY_CSV, encoding="utf-8")
    [result] = land_pillar(user, "product", DAY)
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("landed", 1, 1, 0)
    with connect(user, write=False) as con:
        row = con.execute("SELECT feedback_id, submitted_at, score, text, channel FROM raw.feedback").fetchall()
    # 10:00 AM in São Paulo (UTC-3) is 13:00 UTC.
    assert row == [("sm-11401", _at(13), 4, "Boa experiência,\nmas o frete é caro.", "email")]
    # The ad shapes are not affected by the feedback setting.
    assert "surveymonkey_csat" not in load_shapes(user)


def test_an_unknown_feedback_file_is_set_aside_naming_the_shapes_and_the_setting(settings: Settings) -> None:
    folder = settings.landing_dir / FOLDER
    folder.mkdir(parents=True)
    (folder / "intercom.csv").write_text("Conversation ID,Rating,Remark\n1,5,ok\n")
    [result] = land_pillar(settings, "product", DAY)
    assert result.status == "set_aside" and result.reason is not None
    assert "zendesk (Zendesk: Id, Requester external id, Status, Created at, First reply time in minutes)" in (
        result.reason
    )
    assert result.reason.endswith("Add an entry for it to the file LOOP_FEEDBACK_EXPORT_SHAPES names")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            ('"Satisfied" = "4"', '"Satisfied" = "four"'),
            "entry 'surveymonkey_csat': columns.score.map: 'Satisfied' -> 'four' is not a valid score",
        ),
        (
            ('kind = "csat"', 'kind = "survey"'),
            "entry 'surveymonkey_csat': values.kind: 'survey' is not a valid kind",
        ),
        (
            ('timezone = "America/Sao_Paulo"\n', ""),
            "entry 'surveymonkey_csat': timestamp format '%m/%d/%Y %I:%M:%S %p' has no offset (%z): give the timezone",
        ),
        (
            ('timezone = "America/Sao_Paulo"', 'timezone = "Sao Paulo"'),
            "entry 'surveymonkey_csat', key 'timezone': 'Sao Paulo' is not an IANA time zone",
        ),
        (
            ('customer_id = "Custom Data 1"\n', ""),
            "entry 'surveymonkey_csat': customer_id is given neither by columns.customer_id nor by values.customer_id",
        ),
        (
            ('prefix = "sm-"', 'prefx = "sm-"'),
            "entry 'surveymonkey_csat', key 'columns.feedback_id.prefx': Extra inputs are not permitted",
        ),
        (
            ('{ header = "Respondent ID", prefix = "sm-" }', '{ header = "Respondent ID", extract = "[0-9]+" }'),
            "entry 'surveymonkey_csat', key 'columns.feedback_id.extract': extract must have a group",
        ),
    ],
)
def test_a_wrong_feedback_shapes_file_is_a_clear_error(
    settings: Settings, tmp_path: Path, change: tuple[str, str], problem: str
) -> None:
    assert change[0] in SURVEYMONKEY
    user = _user(settings, tmp_path, SURVEYMONKEY.replace(*change))
    with pytest.raises(ShapeError) as raised:
        load_shapes(user, "feedback")
    assert str(raised.value).startswith(f"LOOP_FEEDBACK_EXPORT_SHAPES {tmp_path / 'feedback_shapes.toml'} has")
    assert problem in str(raised.value)
    # Landing stops with it rather than setting every feedback export aside.
    _put(user, "generic.csv")
    with pytest.raises(LoopError, match="LOOP_FEEDBACK_EXPORT_SHAPES"):
        land_pillar(user, "product", DAY)


def test_loop_ships_its_feedback_shapes() -> None:
    shapes = load_shapes(Settings(feedback_export_shapes=None), "feedback")
    assert set(shapes) == {"generic", "delighted_nps", "typeform_csat", "zendesk", "google_play"}
    assert shapes.family.env == "LOOP_FEEDBACK_EXPORT_SHAPES"
