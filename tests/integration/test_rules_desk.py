"""The notebook's rules desk against a real in-process service: a rule refused with its
position, saved in shadow (counted in /metrics, never deciding), promoted to live (deciding,
named in the answer), and both versions read back from the event log with their truth."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest

from friction import analytics as fa
from friction.analytics.rules_desk import LocalService, RulesDesk, RulesDeskError
from tests.conftest import CANONICAL

pytestmark = pytest.mark.timeout(120)
RULE = 'payment.instrument.bin.startsWith("539999")'


def payment(n: int, bin_: str) -> dict[str, Any]:
    body = copy.deepcopy(CANONICAL)
    body.update(payment_id=f"pay_desk_{n}", amount={"value": 1500, "currency": "EUR"})
    body["instrument"]["bin"] = bin_
    body["customer"]["id"] = f"cus_desk_{n}"
    return body


async def test_a_rule_goes_from_shadow_to_live_through_the_desk(
    tmp_path: Path, models_dir: Path
) -> None:
    source = tmp_path / "source"
    shutil.copytree(models_dir, source / "models")
    local = LocalService(tmp_path / "desk", source=source)
    desk = RulesDesk(await local.start(), analyst="ana")
    try:
        with pytest.raises(RulesDeskError, match=r"422 .*line 1, column 19: unknown field 'bim'"):
            await desk.save_rule("ring", "payment.instrument.bim == '1'", "decline")

        shadow = await desk.save_rule("ring", RULE, "decline", mode="shadow")
        before = await desk.score(payment(1, "539999"))
        assert (shadow["version"], shadow["updated_by"]) == (1, "ana")
        assert "RULE" not in [r["code"] for r in before["reasons"]]
        counts = await desk.hit_counts()
        assert counts[["rule", "mode", "acted", "hits"]].values.tolist() == [
            ["ring", "shadow", "false", 1]
        ]

        live = await desk.promote("ring")
        after = await desk.score(payment(2, "539999"))
        untouched = await desk.score(payment(3, "424242"))
        await desk.label("pay_desk_2", "fraud", "chargeback")
        assert (live["version"], live["mode"], live["expression"]) == (2, "live", RULE)
        assert after["decision"] == "decline"
        assert after["reasons"][0]["code"] == "RULE"  # why it was declined comes first
        assert [r["rule"] for r in after["reasons"] if r["code"] == "RULE"] == ["ring"]
        assert "RULE" not in [r["code"] for r in untouched["reasons"]]
    finally:
        await local.stop()

    table = fa.rule_hits(fa.payments_frame(fa.load_events(local.directory))).set_index("version")
    assert table[["mode", "hits", "acted", "fraud"]].values.tolist() == [
        ["shadow", 1, 0, 0],
        ["live", 1, 1, 1],
    ]
