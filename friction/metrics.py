"""Prometheus metrics of one service instance (one registry per app, so tests stay isolated)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class Metrics:
    """The counters and histograms ``/metrics`` exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "friction_request_seconds",
            "HTTP request latency by route.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "friction_decisions_total", "Scoring decisions by outcome.", ["decision"],
            registry=self.registry,
        )  # fmt: skip
        self.degraded = Counter(
            "friction_degraded_decisions_total",
            "Decisions taken without the store (request-only features).",
            registry=self.registry,
        )
        self.spilled = Counter(
            "friction_spilled_decisions",
            "Decisions written to the local spill journal because the store did not take them "
            "in time (degraded ones, and commits whose outcome was unknown).",
            registry=self.registry,
        )
        self.spill_pending = Gauge(
            "friction_spill_pending",
            "Spilled decisions not yet known to be in the store (alert if it stays above 0).",
            registry=self.registry,
        )
        self.rule_hits = Counter(
            "friction_rule_hits_total",
            "Payments an analysts' rule or allow/block list matched, by tenant, rule, mode "
            "(live or shadow: a shadow rule's hits are what it would have done) and whether "
            "it acted.",
            ["tenant", "source", "rule", "mode", "acted"],
            registry=self.registry,
        )
        self.rule_errors = Counter(
            "friction_rule_errors_total",
            "Rule evaluations that failed (counted as no match), by tenant and rule.",
            ["tenant", "rule"],
            registry=self.registry,
        )
        self.dialogues = Counter(
            "friction_dialogues_total",
            "Dialogue transitions by state, channel and language.",
            ["state", "channel", "language"],
            registry=self.registry,
        )
        self.time_to_answer = Histogram(
            "friction_dialogue_answer_seconds",
            "Time from prompt to answer.",
            ["channel", "language"],
            buckets=(5, 15, 30, 60, 120, 300, 600, 1800, 3600),
            registry=self.registry,
        )
        self.shed = Counter(
            "friction_shed_total",
            "Requests refused with 429 because too many were in flight (overload).",
            registry=self.registry,
        )
        self.client_errors = Counter(
            "friction_client_errors",
            "Requests refused for how the client sent them: slow_body (408), aborted_body and "
            "unreadable_body (400), per_client_limit (429 on routes without an API key).",
            ["kind"],
            registry=self.registry,
        )
        self.inflight = Gauge(
            "friction_inflight_requests",
            "Requests being worked on now (bounded by FRICTION_MAX_INFLIGHT).",
            registry=self.registry,
        )
        self.inflight_peak = Gauge(
            "friction_inflight_requests_peak",
            "Most requests ever worked on at once since start: never above FRICTION_MAX_INFLIGHT.",
            registry=self.registry,
        )
        self.store_pool_waits = Counter(
            "friction_store_pool_waits",
            "Store calls that found every Redis connection taken and waited for one (the pool "
            "holds FRICTION_MAX_INFLIGHT + 32: any increase means something else holds them).",
            registry=self.registry,
        )
        self.store_pool_timeouts = Counter(
            "friction_store_pool_timeouts",
            "Store calls that gave up waiting for a free Redis connection (degraded answers).",
            registry=self.registry,
        )
        self.sms_refused = Counter(
            "friction_sms_refused",
            "SMS refused by the abuse guard, by reason (alert on any increase: SMS pumping).",
            ["reason"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
