"""Typed keys of the aiohttp application: the resources the composition root provides."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from friction.dialogue.app_prompts import AppPrompts
from friction.dialogue.engine import DialogueEngine
from friction.dialogue.sms_replies import SmsReplies
from friction.events.outbox import OutboxRelay
from friction.metrics import Metrics
from friction.ports import Store
from friction.review.desk import ReviewDesk
from friction.service.rule_sets import RuleSets
from friction.service.scorer import Scorer
from friction.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
STORE = web.AppKey("store", Store)
RELAY = web.AppKey("relay", OutboxRelay)
ENGINE = web.AppKey("engine", DialogueEngine)
SCORER = web.AppKey("scorer", Scorer)
REVIEWS = web.AppKey("reviews", ReviewDesk)
REPLIES = web.AppKey("replies", SmsReplies)
PROMPTS = web.AppKey("prompts", AppPrompts)
OPENAPI = web.AppKey("openapi", dict[str, Any])
RULES = web.AppKey("rules", RuleSets)
FLOWS = web.AppKey("flows", list[str])
"""The dialogue flows a challenge rule may name."""
