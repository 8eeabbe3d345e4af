"""Feedback export shapes (``feedback_exports.toml``): survey tools, help desks and app stores into one feedback model.

A feedback shape needs nothing besides the common keys (:mod:`.base`): every field of the feedback contract may be
a column (with its map, extract, prefix or minutes_after) or a value for the whole export (``kind = "nps"``).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from loop.contracts.feedback import FeedbackRecord
from loop.landing.exports.base import Column, ExportShape, Strict


class FeedbackColumns(Strict):
    """The export's column for each feedback field; fields without a column come from ``values`` or stay empty."""

    feedback_id: Column | None = None
    kind: Column | None = None
    customer_id: Column | None = None
    submitted_at: Column | None = None
    product_area: Column | None = None
    product_version: Column | None = None
    score: Column | None = None
    text: Column | None = None
    channel: Column | None = None
    ticket_status: Column | None = None
    first_reply_at: Column | None = None
    resolved_at: Column | None = None
    votes: Column | None = None


class FeedbackShape(ExportShape):
    """One feedback export shape (an entry ``[shapes.<name>]`` of ``feedback_exports.toml``)."""

    contract: ClassVar[type[BaseModel]] = FeedbackRecord

    columns: FeedbackColumns


# The columns table must name every contract field, so a new feedback field is never silently unmappable.
if set(FeedbackColumns.model_fields) != set(FeedbackRecord.model_fields):  # pragma: no cover - a developer's slip
    raise RuntimeError("FeedbackColumns does not name every field of FeedbackRecord")
