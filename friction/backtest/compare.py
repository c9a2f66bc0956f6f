"""One stream compared: the policy fitted on its past window, the rest replayed three ways.

The stream's payments before ``replay_from`` fit the policy (``fit.fit_policy``); only
those after are replayed, by allow-all, smart friction (with that fit) and silent blocking at the
threshold that stops the same fraud value, and broken down by channel and fraud scenario.
"""

from __future__ import annotations

from pydantic import BaseModel

from friction.backtest.policies import allow_all, block_threshold, silent_block, smart_friction
from friction.backtest.report import PolicyReport, summarise, verdict
from friction.offline.cases import Cases
from friction.offline.policy_fit import fit_policy, split
from friction.offline.policy_replay import Outcome
from friction.progress import progress_bar
from friction.scoring.policy import PolicyFit
from friction.settings import Settings


class StreamResult(BaseModel):
    """A stream's backtest: the fit, the three policies, the breakdown and the target."""

    stream: str
    fit: PolicyFit
    policies: list[PolicyReport]
    breakdown: dict[str, dict[str, PolicyReport]]
    """``channel:<name>`` / ``scenario:<name>`` → silent block and smart friction on it."""
    target: dict[str, object]

    @property
    def smart(self) -> PolicyReport:
        """Smart friction's report."""
        return self.policies[2]


def compare(
    name: str, cases: Cases, settings: Settings, replay_from: float, show: bool = False
) -> StreamResult:
    """Fit on the payments before ``replay_from`` (epoch s), replay the rest each way."""
    past, replay = split(cases, replay_from)
    if not replay.cases or not past.cases:
        raise ValueError(f"{name}: the fit window leaves no past or no replay window")
    fit = fit_policy(past, settings, name)
    with progress_bar("smart friction", len(replay.cases), show) as advance:
        smart_out = smart_friction(replay, settings, advance, fit)
    smart = summarise("smart friction", replay, smart_out, settings)
    threshold = block_threshold(replay, settings, smart.fraud_value_stopped)
    silent_out = silent_block(replay, threshold)
    silent = summarise("silent block", replay, silent_out, settings, threshold)
    allow = summarise("allow all", replay, allow_all(replay), settings)
    return StreamResult(
        stream=name,
        fit=fit,
        policies=[allow, silent, smart],
        breakdown=breakdown(
            replay, {"silent block": silent_out, "smart friction": smart_out}, settings
        ),
        target=verdict(smart, silent, settings.friction_budget),
    )


def breakdown(
    cases: Cases, outcomes: dict[str, list[Outcome]], settings: Settings
) -> dict[str, dict[str, PolicyReport]]:
    """Each policy's report restricted to one payment channel, then to one fraud scenario.

    A scenario slice holds only that scenario's frauds: what was stopped of them, and the
    most questions one victim got about them within a budget window.
    """
    channels = [c.channel for c in cases.cases]
    groups: dict[str, list[bool]] = {}
    for channel in sorted(set(channels)):
        groups[f"channel:{channel}"] = [c == channel for c in channels]
    for scenario in sorted(set(cases.scenarios) - {"genuine"}):
        groups[f"scenario:{scenario}"] = [s == scenario for s in cases.scenarios]
    out: dict[str, dict[str, PolicyReport]] = {}
    for key, mask in groups.items():
        part = _subset(cases, mask)
        out[key] = {
            name: summarise(name, part, [o for o, m in zip(got, mask, strict=True) if m], settings)
            for name, got in outcomes.items()
        }
    return out


def _subset(cases: Cases, mask: list[bool]) -> Cases:
    rows = [i for i, m in enumerate(mask) if m]
    return Cases([cases.cases[i] for i in rows], cases.scores[rows],
                 [cases.scenarios[i] for i in rows])  # fmt: skip
