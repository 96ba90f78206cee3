"""``genops report --format focus``: FinOps FOCUS 1.2, checked column by column."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from decimal import Decimal

from genops.store import LocalStore, Query, spend
from tests.cli.conftest import run_cli

#: FOCUS 1.2 column → (data type, nullable) — from the specification's column definitions.
FOCUS_12 = {
    "BilledCost": ("Decimal", False),
    "BillingAccountId": ("String", False),
    "BillingAccountName": ("String", True),
    "BillingCurrency": ("Currency", False),
    "BillingPeriodStart": ("DateTime", False),
    "BillingPeriodEnd": ("DateTime", False),
    "ChargeCategory": ("String", False),
    "ChargeClass": ("String", True),
    "ChargeDescription": ("String", True),
    "ChargeFrequency": ("String", True),
    "ChargePeriodStart": ("DateTime", False),
    "ChargePeriodEnd": ("DateTime", False),
    "ConsumedQuantity": ("Decimal", True),
    "ConsumedUnit": ("String", True),
    "ContractedCost": ("Decimal", False),
    "EffectiveCost": ("Decimal", False),
    "InvoiceIssuerName": ("String", False),
    "ListCost": ("Decimal", False),
    "PricingCategory": ("String", True),
    "PricingQuantity": ("Decimal", True),
    "PricingUnit": ("String", True),
    "ProviderName": ("String", False),
    "PublisherName": ("String", False),
    "ServiceProviderName": ("String", False),
    "ServiceCategory": ("String", False),
    "ServiceSubcategory": ("String", True),
    "ServiceName": ("String", False),
    "SkuId": ("String", True),
    "SubAccountId": ("String", True),
    "SubAccountName": ("String", True),
    "Tags": ("KeyValue", True),
    "x_CostUnknownUnits": ("Integer", True),
}
ALLOWED = {
    "ChargeCategory": {"Usage", "Purchase", "Tax", "Credit", "Adjustment"},
    "ChargeFrequency": {"One-Time", "Recurring", "Usage-Based"},
    "PricingCategory": {"Standard", "Dynamic", "Committed", "Other"},
    "ServiceCategory": {"AI and Machine Learning"},
    "ChargeClass": {"", "Correction"},
}
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _check(column: str, kind: str, nullable: bool, value: str) -> None:
    if value == "":
        assert nullable, f"{column} must not be null"
        return
    if kind == "Decimal":
        assert Decimal(value) >= 0, column
    elif kind == "Integer":
        assert int(value) >= 0, column
    elif kind == "DateTime":
        assert DATETIME.match(value), (column, value)
    elif kind == "Currency":
        assert re.fullmatch(r"[A-Z]{3}", value), (column, value)
    elif kind == "KeyValue":
        tags = json.loads(value)
        assert isinstance(tags, dict) and all(isinstance(v, str) for v in tags.values())
    else:
        assert isinstance(value, str) and value.strip() == value, column
    if column in ALLOWED:
        assert value in ALLOWED[column], (column, value)


def test_focus_columns_names_types_and_totals(store):
    code, text = run_cli("report", "--store", str(store), "--since", "1d", "--format", "focus")
    assert code == 0
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == list(FOCUS_12)
    rows = list(reader)
    assert rows
    for row in rows:
        for column, (kind, nullable) in FOCUS_12.items():
            _check(column, kind, nullable, row[column])
        assert row["BilledCost"] == row["EffectiveCost"] == row["ListCost"] == row["ContractedCost"]
        assert row["ConsumedUnit"] == "Tokens" and row["BillingCurrency"] == "USD"
        assert row["ChargePeriodStart"] < row["ChargePeriodEnd"]
        assert row["BillingPeriodStart"] <= row["ChargePeriodStart"] < row["BillingPeriodEnd"]
        tags = json.loads(row["Tags"])
        assert {"team", "project"} <= set(tags)
    teams = {json.loads(r["Tags"])["team"] for r in rows}
    assert {"support", "research", "finance", "search", "ops", "legal", "marketing"} <= teams
    db = LocalStore(store, readonly=True)
    (total,) = spend(db, Query.last("1d", by=()))
    db.close()
    assert math.isclose(sum(float(r["BilledCost"]) for r in rows), total["cost"], rel_tol=1e-9)
    tokens = total["input_tokens"] + total["output_tokens"]
    assert sum(int(r["ConsumedQuantity"]) for r in rows) == tokens
