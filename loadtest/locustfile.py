"""A day at the service, as locust users: gateways scoring, customers answering.

    .venv/bin/locust -f loadtest/locustfile.py --host http://127.0.0.1:8080
    .venv/bin/locust -f loadtest/locustfile.py --headless -u 50 -r 10 -t 1m \\
        --host http://127.0.0.1:8080

Users (weights give the mix; think times are per user):

- ``Gateway`` (5): a payment gateway posting a new payment every 50-200 ms, for a
  pool of ``LOCUST_CUSTOMERS`` customers (default 200), a few big baskets among them;
- ``AppCustomer`` (3): a customer who opens the app every few seconds, lists the
  open questions and, after reading one (1-4 s), answers it — mostly "yes";
- ``SmsCustomer`` (2): a customer who replies by SMS, arriving as Twilio's signed
  webhook (``X-Twilio-Signature`` made with ``FRICTION_TWILIO_AUTH_TOKEN`` for
  ``FRICTION_PUBLIC_URL``, default the ``--host``; the service must share both).

In-app and SMS customers own disjoint halves of the pool (and each in-app user its
own slice), so two users never race for one question and every answer is legitimate:
a failure in the stats is the service's, not the script's.
"""

from __future__ import annotations

import itertools
import os
import random
import time
import uuid
from typing import Any, ClassVar

from locust import HttpUser, between, task

from friction.dialogue.twilio_signature import SIGNATURE_HEADER, sign

CUSTOMERS = int(os.environ.get("LOCUST_CUSTOMERS", "200"))
RUN = uuid.uuid4().hex[:6]
_payment_numbers = itertools.count()


def customer_id(index: int) -> str:
    """Id of pool customer ``index``."""
    return f"cus_l{index:05d}"


def phone(index: int) -> str:
    """E.164 phone of pool customer ``index`` (UK mobile range for drama)."""
    return f"+4477009{index:05d}"


def payment(index: int, n: int) -> dict[str, Any]:
    """A new payment of customer ``index``; about one in ten is a big basket."""
    value = random.randint(150_000, 900_000) if n % 10 == 0 else random.randint(300, 20_000)
    return {
        "payment_id": f"loc-{RUN}-{n:09d}",
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "amount": {"value": value, "currency": "EUR"},
        "customer": {"id": customer_id(index), "phone": phone(index), "locale": "en-GB"},
        "instrument": {"token": f"tok_l{index:05d}", "bin": "424242", "last4": "4242"},
        "merchant": {"id": f"mer_{n % 40:03d}", "name": "ACME Electronics", "mcc": "5732",
                     "country": "GB"},
        "channel": random.choice(("ecom", "ecom", "ecom", "pos", "transfer")),
        "device": {"id": f"dev_l{index:05d}", "ip": "203.0.113.7"},
    }  # fmt: skip


class Gateway(HttpUser):
    """A payment gateway: one payment every 50-200 ms."""

    weight = 5
    wait_time = between(0.05, 0.2)

    @task
    def score(self) -> None:
        """POST /v1/score for a new payment of a random pool customer."""
        n = next(_payment_numbers)
        self.client.post("/v1/score", json=payment(random.randrange(CUSTOMERS), n))


class AppCustomer(HttpUser):
    """A customer in the app: look at open questions, read, answer."""

    weight = 3
    wait_time = between(1.0, 3.0)
    _slots: ClassVar[itertools.count[int]] = itertools.count()

    def on_start(self) -> None:
        """Take a slice of the in-app half of the pool (customers 0 … CUSTOMERS/2)."""
        half = max(1, CUSTOMERS // 2)
        slot = next(self._slots)
        self.mine = [i for i in range(half) if i % 8 == slot % 8] or [0]

    @task
    def answer_prompts(self) -> None:
        """GET the prompts of one of my customers; answer the newest after reading it."""
        who = random.choice(self.mine)
        response = self.client.get(
            f"/v1/customers/{customer_id(who)}/prompts", name="/v1/customers/[id]/prompts"
        )
        prompts = response.json() if response.ok else []
        if not prompts:
            return
        prompt = prompts[0]
        time.sleep(random.uniform(1.0, 4.0))  # reading the question
        body = {"token": prompt["token"], "answer": "yes" if random.random() < 0.9 else "no"}
        self.client.post(
            f"/v1/dialogues/{prompt['dialogue_id']}/answer",
            json=body,
            name="/v1/dialogues/[id]/answer",
        )


class SmsCustomer(HttpUser):
    """A customer replying by SMS: Twilio posts the reply, signed."""

    weight = 2
    wait_time = between(2.0, 6.0)

    def on_start(self) -> None:
        """The token and public URL the service verifies signatures with."""
        self.token = os.environ.get("FRICTION_TWILIO_AUTH_TOKEN", "")
        self.public = os.environ.get("FRICTION_PUBLIC_URL", self.host or "").rstrip("/")

    @task
    def reply(self) -> None:
        """A signed inbound-SMS webhook from one of the SMS half of the pool."""
        who = random.randrange(max(1, CUSTOMERS // 2), CUSTOMERS)
        path = "/webhooks/twilio/sms"
        form = {
            "From": phone(who),
            "To": "+15005550006",
            "Body": random.choice(("YES", "yes", "Yes it was me", "NO")),
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "AccountSid": "ACloadtest",
        }
        headers = {SIGNATURE_HEADER: sign(self.public + path, form, self.token)}
        self.client.post(path, data=form, headers=headers)
