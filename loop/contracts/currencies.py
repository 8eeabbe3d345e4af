"""ISO 4217: the currency codes money can be reported in, from ``pycountry`` (the iso-codes project's ISO 4217 list,
kept current with each amendment: BGN left it when Bulgaria adopted the euro in 2026, VED joined in 2021).

Ad platforms export spend in the ad account's currency; the code must name a real currency, so a typo (``EUO``), a
symbol (``R$``) or a made-up code is quarantined with its reason rather than landing spend nobody can convert. The
codes ISO reserves for what is not money (precious metals, units of account, testing, "no currency") are refused.
"""

from __future__ import annotations

import pycountry

#: ISO 4217 codes that name no money an account can be billed in: precious metals (gold, silver, palladium,
#: platinum), the bond-market and supranational units of account, the IMF's SDR, and the testing and "no currency"
#: codes.
NOT_MONEY: frozenset[str] = frozenset(
    ("XAG", "XAU", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA", "XAD", "XTS", "XXX")
)

ISO_4217: frozenset[str] = frozenset(currency.alpha_3 for currency in pycountry.currencies) - NOT_MONEY
