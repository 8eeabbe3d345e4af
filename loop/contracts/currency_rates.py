"""Marketing: daily currency rates (CSV). One record is the rate of one currency on one day.

``rate`` is how many units of the reporting currency (``LOOP_REPORTING_CURRENCY``, default EUR) one unit of
``currency`` buys on ``date``. dbt converts ad spend with the rate of its day, or the latest earlier one.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, model_validator

from loop.contracts._source import RowRule, Source
from loop.contracts.currencies import ISO_4217
from loop.contracts.types import ContractModel, CurrencyCode, Day, Measure

_NOT_ISO = "currency is not an ISO 4217 currency code"


class CurrencyRateRecord(ContractModel):
    """The rate of one currency on one day, in units of the reporting currency."""

    model_config = ConfigDict(extra="ignore")

    date: Day
    currency: CurrencyCode
    rate: Measure = Field(gt=0, description="Units of the reporting currency per one unit of `currency`.")

    @model_validator(mode="after")
    def _iso_currency(self) -> CurrencyRateRecord:
        if self.currency not in ISO_4217:
            raise ValueError(_NOT_ISO)
        return self


SOURCE = Source(
    pillar="marketing",
    name="currency_rates",
    model=CurrencyRateRecord,
    formats=("csv",),
    key=("date", "currency"),
    rules=(RowRule('list_contains($iso_4217, "currency")', _NOT_ISO, {"iso_4217": sorted(ISO_4217)}),),
    description="Daily currency rates into the reporting currency",
)
