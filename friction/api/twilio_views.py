"""Twilio webhooks: inbound SMS replies and delivery status callbacks.

Every request must carry a valid ``X-Twilio-Signature`` for the public URL the
service is configured with (``FRICTION_PUBLIC_URL``); anything else is a 403
and changes nothing. Replies are answered inline with TwiML (the next question
or a closing line), which costs no extra API call and keeps us far inside
Twilio's 15-second webhook timeout.
"""

from __future__ import annotations

import logging
import re
from xml.sax.saxutils import escape

from aiohttp import web
from multidict import MultiDict

from friction.api.keys import ENGINE, REPLIES, SETTINGS
from friction.dialogue.twilio_signature import SIGNATURE_HEADER, verify
from friction.domain.privacy import mask_phone
from friction.errors import Forbidden

log = logging.getLogger(__name__)
MAX_SMS_BODY = 1600  # Twilio's own limit for one message
E164 = re.compile(r"\+[1-9]\d{6,14}")
"""What Twilio sends as ``From``; anything else (a forged or broken form) is dropped."""


async def _verified_form(request: web.Request) -> MultiDict[str]:
    """The form fields of a Twilio webhook whose signature checks out, else Forbidden."""
    settings = request.app[SETTINGS]
    token = settings.twilio_auth_token.get_secret_value()
    if not token:
        raise Forbidden("Twilio webhooks are disabled: FRICTION_TWILIO_AUTH_TOKEN is not set")
    raw = await request.post()
    form = MultiDict((k, v) for k, v in raw.items() if isinstance(v, str))
    url = settings.public_url.rstrip("/") + request.path_qs
    if not verify(url, form, request.headers.get(SIGNATURE_HEADER), token):
        log.warning("twilio webhook with a bad signature refused: %s", request.path)
        raise Forbidden("invalid X-Twilio-Signature")
    return form


def _twiml(text: str) -> web.Response:
    body = f"<Message>{escape(text)}</Message>" if text else ""
    return web.Response(
        text=f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>',
        content_type="application/xml",
    )


async def inbound_sms(request: web.Request) -> web.Response:
    """POST /webhooks/twilio/sms — a customer's reply."""
    form = await _verified_form(request)
    phone, body, sid = form.get("From", ""), form.get("Body", ""), form.get("MessageSid", "")
    if not E164.fullmatch(phone) or len(body) > MAX_SMS_BODY or "\x00" in body:
        log.info("inbound sms from %s ignored: malformed", mask_phone(phone))
        return _twiml("")
    reply = await request.app[REPLIES].reply(phone, body, message_id=sid or None)
    return _twiml(reply)


async def status_callback(request: web.Request) -> web.Response:
    """POST /webhooks/twilio/status — delivery reports for the prompts we sent."""
    form = await _verified_form(request)
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if sid:
        await request.app[ENGINE].delivery_status(sid, status)
    return web.Response(status=204)
