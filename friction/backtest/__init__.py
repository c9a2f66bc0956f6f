"""Policy backtests: replay a stream through a model and compare policies side by side.

- ``replay``   — smart friction's state over a stream (budgets, trusted payees, answers)
- ``cases``    — streams to replay: the simulator's, scored by a registry model
- ``handbook`` — the handbook CSVs, with a model trained on their first days
- ``policies`` — allow-all, silent block at a matched threshold, smart friction
- ``report``   — the figures per policy, the table and the JSON
- ``cli``      — ``friction backtest``
"""

from friction.backtest.report import PolicyReport
from friction.offline.policy_replay import Case, FrictionReplay, Outcome

__all__ = ["Case", "FrictionReplay", "Outcome", "PolicyReport"]
