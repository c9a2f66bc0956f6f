"""SMS channel through Twilio's Messages API, using the official ``twilio`` library.

This is the only module that talks to Twilio's REST API; every failure of the SDK
or the network leaves it as a ``ChannelError`` so the dialogue ladder can move on.

Pointing the SDK elsewhere (a local fake, a recorder): the library hard-codes
``https://api.twilio.com`` in its generated domain classes and offers no base-URL
option; Twilio's documented extension point is a custom HTTP client (see
twilio-python issue #521, "custom HTTP clients"). ``_TwilioHttpClient`` subclasses
the library's ``AsyncTwilioHttpClient`` and rewrites the origin of each request URL
to ``api_base``; path, query and form body stay exactly what the SDK built. With the
default ``api_base`` nothing is rewritten.

The subclass also fixes two things of the stock async client:

- it never applies its ``timeout`` (the SDK passes ``timeout=None`` per request,
  which aiohttp reads as "no timeout"), so a hanging Twilio would hang a dialogue;
- it passes ``auth=aiohttp.BasicAuth(...)``, deprecated in aiohttp 3.14 (two
  ``DeprecationWarning``s per send); we send the ``Authorization`` header ourselves.

Sends are never retried here: a timed-out POST may have been accepted by Twilio, and
a retry could text the customer twice. The ladder decides what happens next.
"""

from __future__ import annotations

import base64
import logging
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from friction.domain.privacy import mask_phone
from friction.errors import ChannelError
from friction.ports import OutboundMessage

__all__ = ["DEFAULT_API_BASE", "TwilioSmsChannel"]

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.twilio.com"
"""Where the Messages API lives; the SDK builds every URL on this origin."""

# Any run of 5+ digits (with the separators people type) could be a phone number:
# Twilio's error messages quote the 'To' number, and logs must not carry it.
_DIGIT_RUN = re.compile(r"\+?\d[\d ().-]{3,}\d")
# Non-empty, so the SDK never falls back to os.environ (it reads ``environment or
# os.environ``); blank edge/region, so it never rewrites hosts. Settings rule alone.
_NO_ENVIRONMENT = {"TWILIO_EDGE": "", "TWILIO_REGION": ""}


def _mask_digits(text: str) -> str:
    """Replace every phone-number-like run in text by its last 4 digits."""
    return _DIGIT_RUN.sub(lambda m: mask_phone(re.sub(r"\D", "", m.group())), text)


def _basic_auth(login: str, password: str) -> str:
    """An ``Authorization: Basic`` value; aiohttp's ``BasicAuth`` warns from 3.14 on."""
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


class _TwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]  # twilio is untyped
    """The SDK's async HTTP client, re-based on ``api_base`` and with a real timeout."""

    session: aiohttp.ClientSession | None
    timeout: float

    def __init__(self, api_base: str, timeout_s: float) -> None:
        # No session yet: aiohttp sessions need a running loop, the channel may be
        # built before one exists (composition root); it is opened on first use.
        super().__init__(pool_connections=False, timeout=timeout_s)
        base = urlsplit(api_base.rstrip("/"))
        if base.scheme not in ("http", "https") or not base.netloc:
            raise ValueError(f"api_base must be an http(s) URL, got {api_base!r}")
        self._base = base

    def rebase(self, url: str) -> str:
        """The SDK's URL with scheme and host (and any path prefix) of ``api_base``."""
        parts = urlsplit(url)
        path = self._base.path + parts.path
        return urlunsplit((self._base.scheme, self._base.netloc, path, parts.query, ""))

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  # the SDK's signature
        allow_redirects: bool = False,
    ) -> Any:
        """Send one SDK request; signature and return value are the SDK's."""
        if self.session is None:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = _basic_auth(*auth)
        return await super().request(
            method,
            self.rebase(url),
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout or self.timeout,
            allow_redirects=allow_redirects,
        )

    async def close(self) -> None:
        """Close the pooled session, if one was opened."""
        if self.session is not None:
            await self.session.close()
            self.session = None


class TwilioSmsChannel:
    """``Channel`` "sms": texts the prompt through Twilio and returns the MessageSid."""

    name = "sms"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base: str = DEFAULT_API_BASE,
        status_callback_url: str | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        if not (account_sid and auth_token and from_number):
            raise ValueError("Twilio SMS needs an account SID, an auth token and a from number")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self._from = from_number
        self._status_callback = status_callback_url
        self._http = _TwilioHttpClient(api_base, timeout_s)
        self._client = Client(
            username=account_sid,
            password=auth_token,
            account_sid=account_sid,
            http_client=self._http,
            environment=_NO_ENVIRONMENT,
        )

    async def send(self, message: OutboundMessage) -> str:
        """Create the Twilio message; returns its MessageSid. Raises ChannelError."""
        if not message.phone:
            raise ChannelError(f"dialogue {message.dialogue_id}: customer has no phone number")
        to = mask_phone(message.phone)
        try:
            created = await self._client.messages.create_async(
                to=message.phone,
                from_=self._from,
                body=message.text,
                status_callback=self._status_callback or values.unset,
            )
        except TwilioException as error:
            # ``from None``: the SDK's message quotes the full number; ours masks it.
            raise ChannelError(_describe_rejection(error, to)) from None
        except (aiohttp.ClientError, TimeoutError) as error:
            kind = "timed out" if isinstance(error, TimeoutError) else type(error).__name__
            raise ChannelError(f"Twilio unreachable sending SMS to {to}: {kind}") from None
        except ValueError as error:  # a 2xx whose body is not Twilio's JSON
            raise ChannelError(f"Twilio sent an unreadable answer for SMS to {to}") from error
        sid = getattr(created, "sid", None)
        if not isinstance(sid, str) or not sid:
            raise ChannelError(f"Twilio accepted the SMS to {to} but returned no MessageSid")
        logger.info("sms sent dialogue=%s to=%s sid=%s", message.dialogue_id, to, sid)
        return sid

    async def close(self) -> None:
        """Release the HTTP connection pool."""
        await self._http.close()


def _describe_rejection(error: TwilioException, to: str) -> str:
    """A log-safe one-liner for an SDK error: HTTP status, Twilio code, masked text."""
    # RFC 9457 service errors carry the same status/code; the text is ``msg`` or ``str``.
    text = error.msg if isinstance(error, TwilioRestException) else str(error)
    status = getattr(error, "status", "?")
    code = getattr(error, "code", "?")
    return f"Twilio rejected SMS to {to}: HTTP {status}, Twilio error {code}: {_mask_digits(text)}"
