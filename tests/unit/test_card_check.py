"""Card checks (amount 0, issue 15 item 7): no amount reason, no question, no decline for amount.

A card check verifies a card and charges nothing. The policy's early return allows it
(or, past ``decline_at``, hands it to a person) whatever the other settings would do to a
charged payment, and the explanation never cites the amount.
"""

from __future__ import annotations

import numpy as np
import pytest

from friction.scoring.explain import AMOUNT_CODES, top_reasons
from friction.scoring.features import FEATURE_NAMES
from friction.scoring.policy import CARD_CHECK, CARD_CHECK_FLAGGED, PolicyInput, choose
from friction.settings import Settings

AGGRESSIVE = Settings(challenge_at=0.0, explore_share=0.5, challenge_loss_minor=1.0)


@pytest.mark.parametrize("score", [0.0, 0.08, 0.5, 0.96])
@pytest.mark.parametrize("reachable", [True, False])
def test_a_card_check_is_allowed_and_never_asked(score: float, reachable: bool) -> None:
    given = PolicyInput(score, 0, recent_challenges=0, reachable=reachable, payment_id="p")
    action = choose(AGGRESSIVE, given)
    assert (action.decision, action.reasons, action.explored) == ("allow", [CARD_CHECK], False)
    assert action.expected_loss == 0.0
    charged = choose(AGGRESSIVE, PolicyInput(score, 100, 0, reachable=True, payment_id="p"))
    assert charged.decision == "challenge"  # the same settings do ask about a charged payment


def test_a_card_check_past_decline_at_goes_to_a_person_not_a_decline() -> None:
    given = PolicyInput(0.99, 0, recent_challenges=0, reachable=True, payment_id="p")
    action = choose(AGGRESSIVE, given)
    assert (action.decision, action.reasons) == ("review", [CARD_CHECK_FLAGGED])


def test_amount_reasons_are_never_cited_for_amount_zero() -> None:
    amount = FEATURE_NAMES.index("amount")
    ranked = np.array(
        [amount, FEATURE_NAMES.index("amount_ratio_30d"), FEATURE_NAMES.index("cust_count_1d")],
        dtype=np.int32,
    )
    vector = np.ones(len(FEATURE_NAMES))
    charged = {r.code for r in top_reasons(FEATURE_NAMES, vector, ranked)}
    assert charged >= AMOUNT_CODES  # a charged payment is told about its amount
    vector[amount] = 0.0
    check = [r.code for r in top_reasons(FEATURE_NAMES, vector, ranked)]
    assert check == ["VELOCITY_HIGH"]
