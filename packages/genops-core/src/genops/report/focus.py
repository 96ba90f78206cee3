"""FinOps FOCUS 1.2 export: AI spend as cost-and-usage rows beside cloud spend.

One row per UTC day × team × project × customer × feature × environment × provider ×
model of the executed provider calls. genops computes cost at **list price** (it is
not the biller), so ``BilledCost`` = ``EffectiveCost`` = ``ListCost`` =
``ContractedCost``; the provider's invoice remains the source of truth for billing.
Tokens are ``ConsumedQuantity`` in ``ConsumedUnit`` ``Tokens``; attribution is in
``Tags`` (a JSON object). Units whose price is unknown contribute their tokens but no
cost, and are counted in the custom column ``x_CostUnknownUnits`` (FOCUS reserves the
``x_`` prefix for custom columns).
"""

from __future__ import annotations

import calendar
import csv
import io
import json
import time
from collections.abc import Iterator
from typing import Any, Final

from genops.report.render import iso
from genops.store import LocalStore, Query

#: (column, FOCUS data type) in output order.
COLUMNS: Final = (
    ("BilledCost", "Decimal"),
    ("BillingAccountId", "String"),
    ("BillingAccountName", "String"),
    ("BillingCurrency", "String"),
    ("BillingPeriodStart", "Date/Time"),
    ("BillingPeriodEnd", "Date/Time"),
    ("ChargeCategory", "String"),
    ("ChargeClass", "String"),
    ("ChargeDescription", "String"),
    ("ChargeFrequency", "String"),
    ("ChargePeriodStart", "Date/Time"),
    ("ChargePeriodEnd", "Date/Time"),
    ("ConsumedQuantity", "Decimal"),
    ("ConsumedUnit", "String"),
    ("ContractedCost", "Decimal"),
    ("EffectiveCost", "Decimal"),
    ("InvoiceIssuerName", "String"),
    ("ListCost", "Decimal"),
    ("PricingCategory", "String"),
    ("PricingQuantity", "Decimal"),
    ("PricingUnit", "String"),
    ("ProviderName", "String"),
    ("PublisherName", "String"),
    ("ServiceProviderName", "String"),
    ("ServiceCategory", "String"),
    ("ServiceSubcategory", "String"),
    ("ServiceName", "String"),
    ("SkuId", "String"),
    ("SubAccountId", "String"),
    ("SubAccountName", "String"),
    ("Tags", "Key-Value Format"),
    ("x_CostUnknownUnits", "Integer"),
)

_SQL: Final = """
SELECT strftime('%Y-%m-%d', ts, 'unixepoch') AS day, team, project, customer_id, feature,
       environment, COALESCE(provider, 'unknown'), COALESCE(model, 'unknown'),
       SUM(input_tokens + output_tokens), SUM(cost), SUM(cost_unknown), COUNT(*)
FROM units
WHERE {where} AND role = 'call' AND COALESCE(decision, '') NOT IN ('BLOCKED', 'RATE_LIMITED')
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
"""


def _day_start(day: str) -> float:
    return float(calendar.timegm(time.strptime(day, "%Y-%m-%d")))


def _month(day: str) -> tuple[str, str]:
    year, month = int(day[:4]), int(day[5:7])
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}-01T00:00:00Z", f"{nxt[0]:04d}-{nxt[1]:02d}-01T00:00:00Z"


def rows(store: LocalStore, q: Query) -> Iterator[dict[str, Any]]:
    """FOCUS rows (column → value) for the query's range and filters."""
    where, params = q.where()
    for (
        day,
        team,
        project,
        customer,
        feature,
        env,
        provider,
        model,
        tokens,
        cost,
        unknown,
        n,
    ) in store.execute(_SQL.format(where=where), params):
        start = _day_start(day)
        billing_start, billing_end = _month(day)
        tags = {"team": team, "project": project}
        for key, value in (("customer_id", customer), ("feature", feature), ("environment", env)):
            if value is not None:
                tags[key] = value
        amount = f"{float(cost or 0.0):.10f}"
        yield {
            "BilledCost": amount,
            "BillingAccountId": f"genops:{provider}",
            "BillingAccountName": provider,
            "BillingCurrency": "USD",
            "BillingPeriodStart": billing_start,
            "BillingPeriodEnd": billing_end,
            "ChargeCategory": "Usage",
            "ChargeClass": "",
            "ChargeDescription": f"{n} {model} calls ({provider}) by {team}/{project}",
            "ChargeFrequency": "Usage-Based",
            "ChargePeriodStart": iso(start),
            "ChargePeriodEnd": iso(start + 86_400),
            "ConsumedQuantity": str(int(tokens or 0)),
            "ConsumedUnit": "Tokens",
            "ContractedCost": amount,
            "EffectiveCost": amount,
            "InvoiceIssuerName": provider,
            "ListCost": amount,
            "PricingCategory": "Standard",
            "PricingQuantity": str(int(tokens or 0)),
            "PricingUnit": "Tokens",
            "ProviderName": provider,
            "PublisherName": provider,
            "ServiceProviderName": provider,
            "ServiceCategory": "AI and Machine Learning",
            "ServiceSubcategory": "Generative AI",
            "ServiceName": f"{provider} {model}",
            "SkuId": f"{provider}/{model}",
            "SubAccountId": f"{team}/{project}",
            "SubAccountName": f"{team} / {project}",
            "Tags": json.dumps(tags, sort_keys=True),
            "x_CostUnknownUnits": str(int(unknown or 0)),
        }


def focus_csv(store: LocalStore, q: Query) -> str:
    """The FOCUS 1.2 dataset as CSV (header row = column names)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[c for c, _ in COLUMNS], lineterminator="\n")
    writer.writeheader()
    for row in rows(store, q):
        writer.writerow(row)
    return out.getvalue()
