"""The route table: one list drives the router, who may call what, and the OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from friction.api import (
    app_page,
    docs_page,
    review_views,
    rule_backtest_views,
    rules_views,
    schemas,
    twilio_views,
    views,
)
from friction.api.route import Route
from friction.domain.decision import PaymentStatus, ScoreResponse
from friction.domain.payment import Payment
from friction.domain.records import ReviewRecord
from friction.review import schemas as review
from friction.rules.lists import ListEntry
from friction.rules.rules import Rule

ROUTES: tuple[Route, ...] = (
    Route("POST", "/v1/score", views.score, "Score a payment and decide",
          Payment, ScoreResponse),
    Route("GET", "/v1/payments/{payment_id}", views.payment_status,
          "Decision and verdict of a payment", None, PaymentStatus),
    Route("POST", "/v1/payments/{payment_id}/labels", views.add_label,
          "Report late truth: chargeback, fraud report, analyst verdict",
          schemas.LabelIn, PaymentStatus),
    Route("POST", "/v1/customers/{customer_id}/sessions", views.open_session,
          "Open a short-lived session for one customer's app (the tenant's backend calls this)",
          schemas.SessionIn, schemas.SessionOut, "gateway"),
    Route("GET", "/v1/customers/{customer_id}/prompts", views.prompts,
          "Open questions for the customer's app (JSON, or a live text/event-stream)",
          None, None, "customer"),
    Route("POST", "/v1/dialogues/{dialogue_id}/answer", views.answer,
          "Answer a question in the app", schemas.AnswerIn, PaymentStatus, "customer"),
    Route("GET", "/v1/customers/{customer_id}/notices", review_views.notices,
          "The customer's latest declined or blocked payment, for the app to show",
          None, review.NoticeList, "customer"),
    Route("POST", "/v1/customers/{customer_id}/contests", review_views.contest,
          "Ask a person to look again at a declined or blocked payment (the customer's app)",
          review.ContestIn, review.ContestOut, "customer"),
    Route("PUT", "/v1/customers/{customer_id}/preferences", views.preferences,
          "Set a customer's channel order and language (the customer's app or the tenant)",
          schemas.PreferencesIn, None, "customer", access="either"),
    Route("GET", "/app", app_page.redirect, "In-app page (redirects to /app/)", tag="page"),
    Route("GET", "/app/", app_page.page,
          "In-app reference page: /app/?customer=<id>#session=<token>", tag="page"),
    Route("GET", "/app/{asset}", app_page.asset, "Script and style of the in-app page",
          tag="page"),
    Route("DELETE", "/v1/customers/{customer_id}", views.erase_customer,
          "Erase a customer's personal data; decisions and labels stay under a pseudonym",
          None, schemas.ErasureOut, "gateway"),
    Route("POST", "/webhooks/twilio/sms", twilio_views.inbound_sms,
          "Twilio inbound SMS (signed)", None, None, "twilio"),
    Route("POST", "/webhooks/twilio/status", twilio_views.status_callback,
          "Twilio delivery status callback (signed)", None, None, "twilio"),
    Route("POST", "/v1/dev/sms", views.console_reply,
          "Simulate an SMS reply (console channel only)", schemas.ReplyIn, None, "dev"),
    Route("GET", "/v1/reviews", review_views.list_reviews,
          "Review queue, oldest first: filter by status/assignee, page with `after`",
          None, review.ReviewPage, "analyst", review.ReviewQuery),
    Route("GET", "/v1/reviews/{review_id}", review_views.show_review,
          "A review item with its payment, dialogue transcript and customer history",
          None, review.ReviewDetail, "analyst"),
    Route("POST", "/v1/reviews/{review_id}/assign", review_views.assign_review,
          "Take a review item (or hand it over)", review.AssignIn, ReviewRecord, "analyst"),
    Route("POST", "/v1/reviews/{review_id}/resolve", review_views.resolve_review,
          "Decide a reviewed payment: verdict to the gateway, label to training",
          review.ResolveIn, ReviewRecord, "analyst"),
    Route("GET", "/v1/lists", rules_views.list_lists, "The tenant's lists with their sizes",
          None, rules_views.ListsOut, "analyst"),
    Route("PUT", "/v1/lists/{list}", rules_views.put_list,
          "Create a list (201) or change its description or action (200)",
          rules_views.ListIn, rules_views.ListOut, "analyst"),
    Route("DELETE", "/v1/lists/{list}", rules_views.delete_list,
          "Delete a list and its entries (409 while a rule reads it)", tag="analyst"),
    Route("GET", "/v1/lists/{list}/entries", rules_views.list_entries,
          "A page of a list's entries in value order", None, rules_views.EntryPage, "analyst",
          rules_views.EntryQuery),
    Route("POST", "/v1/lists/{list}/entries", rules_views.add_entries,
          "Add one entry (JSON) or many (text/csv with ?analyst=, all or none)",
          rules_views.EntryIn, ListEntry, "analyst", rules_views.UploadQuery),
    Route("DELETE", "/v1/lists/{list}/entries/{value}", rules_views.delete_entry,
          "Remove an entry (the value is normalised for the list's kind; a CIDR may hold '/')",
          tag="analyst"),
    Route("GET", "/v1/rules", rules_views.list_rules,
          "The tenant's rules, and those that no longer compile", None, rules_views.RulesOut,
          "analyst"),
    Route("POST", "/v1/rules/backtest", rule_backtest_views.backtest,
          "Try a rule on this tenant's decision log (file bus only: 409 on Kafka)",
          rule_backtest_views.BacktestIn, rule_backtest_views.BacktestOut, "analyst"),
    Route("GET", "/v1/rules/{rule_id}", rules_views.show_rule, "A rule's current version",
          None, Rule, "analyst"),
    Route("PUT", "/v1/rules/{rule_id}", rules_views.put_rule,
          "Save a rule, checked first (201 new, 200 a new version)", rules_views.RuleIn, Rule,
          "analyst"),
    Route("DELETE", "/v1/rules/{rule_id}", rules_views.delete_rule,
          "Delete a rule (its versions stay readable)", tag="analyst"),
    Route("GET", "/v1/rules/{rule_id}/versions", rules_views.rule_versions,
          "Every version a rule had, oldest first", None, rules_views.RuleVersions, "analyst"),
    Route("GET", "/healthz", views.healthz, "Liveness", tag="ops"),
    Route("GET", "/readyz", views.readyz, "Readiness", tag="ops"),
    Route("GET", "/metrics", views.metrics, "Prometheus metrics", tag="ops"),
    Route("GET", "/openapi.json", views.openapi, "This document", tag="ops"),
    Route("GET", "/docs", docs_page.redirect, "API reference (redirects to /docs/)", tag="page"),
    Route("GET", "/docs/", docs_page.page, "Interactive API reference (Swagger UI)", tag="page"),
    Route("GET", "/docs/{asset}", docs_page.asset, "Swagger UI's files and its start script",
          tag="page"),
)  # fmt: skip


def served(dev_endpoints: bool) -> tuple[Route, ...]:
    """The routes a process serves: ``/v1/dev/*`` only when asked for (never in production)."""
    return tuple(r for r in ROUTES if dev_endpoints or r.tag != "dev")


PATTERNS: dict[str, str] = {
    "/v1/lists/{list}/entries/{value}": "/v1/lists/{list}/entries/{value:.+}",
}
"""Paths whose last parameter may hold '/' (an IP list's CIDR). The router matches the
pattern; auth, limits and the OpenAPI document key on the template, which is what the
router reports as the matched route's ``canonical`` path."""


def add_routes(app: web.Application, routes: tuple[Route, ...]) -> None:
    """Register ``routes`` on ``app``."""
    for route in routes:
        app.router.add_route(route.method, PATTERNS.get(route.path, route.path), route.handler)
