"""The one settings object, built once at start-up, and the slices components take.

Every field reads the environment variable ``FRICTION_<FIELD_NAME>`` (upper case).
Nothing else in the package reads ``os.environ``: tests and tools build a
``Settings(...)`` explicitly, the CLI builds it from the environment.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Self

from phonenumbers import SUPPORTED_REGIONS
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from friction.domain.decision import Fallback

Silence = Fallback | Literal["weighed"]
ChannelName = Literal["in_app", "sms", "console"]
DEFAULT_SECRET = "change-me-in-production"
"""The published development value of every secret: refused once API keys are set."""
MIN_SECRET_CHARS = 16
TENANT_NAME = r"^[a-z0-9][a-z0-9_-]{0,31}$"


class CallbackTarget(BaseModel):
    """Where one tenant's verdict webhooks go, and the key that signs them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    secret: SecretStr


class PolicySettings(BaseModel):
    """What the policy decides by: thresholds, costs, budget, exploration, degraded rules."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    challenge_at: float = Field(0.08, ge=0.0, le=1.0)
    """Score at or above which a payment is challenged (0 = challenge everything below decline)."""
    decline_at: float = Field(0.97, ge=0.0, le=1.0)
    """Score at or above which a payment is declined outright."""
    friction_budget: int = Field(3, ge=0)
    """Most challenges one customer may receive within ``friction_window_hours``."""
    friction_window_hours: float = Field(24.0 * 7, gt=0)
    """Rolling window of the per-customer friction budget."""
    friction_cost_minor: float = Field(2000.0, ge=0)
    """What asking a genuine customer costs (goodwill, abandoned baskets, support calls), in
    EUR cents: with the chance that they do not answer in time and are declined anyway, it
    is the price of a question that the fraud it stops must beat (``scoring.policy``)."""
    friction_cost_by_channel: dict[str, float] = {}
    """Multiplier of ``friction_cost_minor`` per payment channel, as JSON (e.g. ``{"pos": 2}``):
    a customer at a till tolerates less friction than one sending a transfer."""
    friction_cost_growth: float = Field(1.0, ge=0)
    """Each challenge already received in the budget window multiplies the cost of friction by
    ``1 + growth``: the third question in a week annoys more than the first."""
    decline_cost_minor: float = Field(5000.0, ge=0)
    """What declining a good payment costs beyond its amount's share (a lost customer's
    goodwill, a support call), in EUR cents: weighed against a question's cost and the fraud
    a question lets through, it decides between declining and asking."""
    decline_cost_share: float = Field(0.5, ge=0)
    """Share of a good payment's amount that its decline costs on top of
    ``decline_cost_minor`` (the lost sale): a big genuine payment is dearer to refuse."""
    friction_rate_cap: float = Field(0.012, ge=0.0, le=1.0)
    """Most genuine payments the policy may ask about, as a share: when fitting on a past
    window would ask more, a price is added to every question until it fits (0 = no cap)."""
    no_answer_verdict: Silence = "weighed"
    """What an unanswered question leads to: ``weighed`` chooses per payment, when it is asked,
    between a person's review and a block by what each costs (``review_cost_minor`` against
    declining a customer who is probably genuine, within ``review_rate_cap``); ``blocked``,
    ``review`` or ``released`` fix it for every payment."""
    review_cost_minor: float = Field(1500.0, ge=0)
    """What sending one payment to an analyst costs, in EUR cents (a few minutes of an
    analyst, and the genuine customer's payment held until they decide)."""
    review_rate_cap: float = Field(0.002, ge=0.0, le=1.0)
    """Most payments that unanswered questions may send to analysts, as a share of all
    payments: when fitting on a past window would send more, a price is added to every
    review until it fits (0 = no cap)."""
    challenge_loss_minor: float = Field(5000.0, ge=0)
    """Expected loss (EUR cents) at or above which a payment is challenged even when its score
    is under ``challenge_at``: a big payment with a modest score can be worth one question
    (0 = off)."""
    loss_floor_minor: float = Field(0.0, ge=0)
    """Quiet win: a risky payment whose expected loss is below this is allowed and logged
    (reason QUIET_WIN) rather than asked about; small sums are not worth a customer's time."""
    explore_share: float = Field(0.0002, ge=0.0, le=0.5)
    """Share of payments the policy would allow that are challenged anyway, chosen by a hash of
    the payment id (so a retry is decided the same way), with the propensity recorded: without
    it, retraining never sees labels for what the model never asks about. 14 % of such
    questions go unanswered; while silence blocked, exploration at 0.001 made 59 % of smart
    friction's good declines on the handbook stream (now silence mostly goes to a person)."""
    loss_currency_rates: dict[str, float] = {"EUR": 1.0, "GBP": 1.17, "USD": 0.92, "AED": 0.25}
    """Value of one unit of a currency in EUR, so that expected losses, costs and floors (all in
    EUR cents) compare payments in different currencies; an unlisted currency counts 1:1."""
    degraded_rule: Literal["score", "fail_open", "fail_closed"] = "score"
    """Store down: ``score`` (request-only features; review instead of challenge),
    ``fail_open`` (allow) or ``fail_closed`` (decline)."""
    degraded_rules: dict[str, Literal["score", "fail_open", "fail_closed"]] = {}
    """Per-channel overrides of ``degraded_rule`` as JSON, e.g. {"transfer": "fail_closed"}."""

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> Self:
        if self.challenge_at > self.decline_at:
            raise ValueError(
                f"challenge_at ({self.challenge_at}) must not exceed decline_at ({self.decline_at})"
            )
        return self


class DecisionSettings(PolicySettings):
    """What scoring a payment needs beyond the policy: how twins and retries are answered."""

    twin_wait_seconds: float = Field(1.0, gt=0)
    """How long a retry waits for the decision of a twin request (same payment, maybe on
    another replica) before answering 409 ``in_progress``."""
    recent_answers: int = Field(50_000, ge=0)
    """Answers of the latest payments scored, kept in memory (~650 bytes each) so that a
    gateway's retry gets the first answer even while the store is unreachable; an older
    payment retried during an outage gets a new, degraded decision."""
    decline_notices: bool = True
    """Tell a customer on their first channel when a payment was declined automatically
    (with how to contest it); off for banks that notify their customers themselves."""


class DialogueSettings(BaseModel):
    """How dialogues run: ladder, timings, confirmations, secrets."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    dialogue_ttl_seconds: float = Field(600.0, gt=0)
    """How long a customer has to answer a challenge."""
    prompt_refresh_seconds: float = Field(3.0, gt=0)
    """An open in-app stream re-reads its prompts this often (a prompt opened on another
    replica wakes no listener here) and otherwise sends a keep-alive comment."""
    default_channels: Annotated[list[ChannelName], NoDecode] = ["console"]
    """Ordered channel ladder for customers without preferences (comma-separated)."""
    expiry_check_seconds: float = Field(1.0, gt=0)
    """How often open dialogues are checked for expiry and escalation."""
    ladder_step_seconds: float = Field(120.0, gt=0)
    """Unanswered for this long on one channel, the next channel of the ladder asks."""
    confirm_retry_seconds: float = Field(1800.0, ge=0)
    """After a confirmation, the same payment retried within this window passes unasked."""
    trusted_days: float = Field(30.0, ge=0)
    """A payee or merchant the customer confirmed is not challenged again for this many days
    (0 = off); a customer who said "yes, that was me" should not be asked twice."""
    review_contest_days: float = Field(30.0, gt=0)
    """After an automatic decline (or a block for no answer), the customer may ask for a person
    ("HUMAN" by SMS) for this many days (GDPR Art. 22); the latest such payment is reviewed."""
    token_secret: SecretStr = SecretStr(DEFAULT_SECRET)
    """Key that signs in-app answer tokens (HMAC-SHA256)."""
    pseudonym_secret: SecretStr = SecretStr(DEFAULT_SECRET)
    """Key of the HMAC that turns an erased customer's id into a pseudonym (labels keep it)."""

    @field_validator("default_channels", mode="before")
    @classmethod
    def _split_channels(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _has_channels(self) -> Self:
        if not self.default_channels:
            raise ValueError("default_channels needs at least one channel, e.g. 'console'")
        return self


class SmsSettings(BaseModel):
    """Where SMS may go and how many: the guard against SMS pumping."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    sms_allowed_prefixes: Annotated[list[str], NoDecode] = ["GB", "FR", "DE", "ES", "US", "CA",
                                                             "AE", "SA"]  # fmt: skip
    """Where SMS may be sent (comma-separated): ISO 3166 region codes (``GB,FR,AE``), found for
    each number by libphonenumber, or E.164 prefixes (``+44``, as before). SMS pumping fraud
    sends to premium and revenue-share ranges abroad, so countries are allowed, never
    blocked. Choose the countries where your customers' phones are: those of your issuing
    or acquiring markets (GB,FR,DE,ES,US,CA for friction's languages en/fr/es, AE,SA for
    ar), never a whole calling code shared by many countries: ``+1`` also allows the
    Caribbean (+1 876 Jamaica, a favourite of revenue-share fraud), ``US,CA`` does not."""
    sms_window_seconds: float = Field(3600.0, gt=0)
    """Window of the SMS send caps below."""
    sms_per_customer_cap: int = Field(5, ge=0)
    """Most SMS one customer is sent per window."""
    sms_per_prefix_cap: int = Field(200, ge=0)
    """Most SMS sent to one number range (the number minus its last ``sms_prefix_tail`` digits)
    per window: pumping walks sequential numbers of one range."""
    sms_prefix_tail: int = Field(3, ge=1, le=8)
    """Digits cut off a number to get its range for ``sms_per_prefix_cap``."""
    sms_segment_cost: dict[str, float] = {"+44": 0.04, "+33": 0.08, "+49": 0.09, "+1": 0.0079}
    """Estimated cost (USD) of one SMS segment by prefix (longest match); others cost
    ``sms_default_segment_cost``."""
    sms_default_segment_cost: float = Field(0.10, ge=0)
    """Cost of a segment to a prefix not in ``sms_segment_cost``."""
    sms_spend_cap: float = Field(50.0, ge=0)
    """Most estimated SMS spend (USD) per window, all customers together."""

    @field_validator("sms_allowed_prefixes", mode="before")
    @classmethod
    def _split_prefixes(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("sms_allowed_prefixes")
    @classmethod
    def _known_regions(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not re.fullmatch(r"\+[1-9]\d{0,6}", entry) and entry not in SUPPORTED_REGIONS:
                raise ValueError(
                    f"{entry!r} is neither an E.164 prefix (+44) nor a region code (GB)"
                )
        return value


class Settings(DecisionSettings, DialogueSettings, SmsSettings, BaseSettings):
    """Configuration of one friction process (env prefix ``FRICTION_``): all slices, the rest."""

    model_config = SettingsConfigDict(
        env_prefix="FRICTION_",
        extra="ignore",
        frozen=True,
        use_attribute_docstrings=True,
    )

    http_host: str = "127.0.0.1"
    """Interface the HTTP server binds to."""
    http_port: int = Field(8080, ge=0, le=65535)
    """Port the HTTP server listens on (0 = any free port)."""
    public_url: str = "http://127.0.0.1:8080"
    """URL under which gateways, customers and Twilio reach this service (webhook signatures)."""
    api_keys: dict[str, SecretStr] = {}
    """Gateway API keys as JSON, tenant → key (tenant names: a-z 0-9 _ -); empty: one open
    ``default`` tenant (development only: customer routes then need no session either)."""
    session_ttl_seconds: float = Field(900.0, gt=0, le=86_400)
    """Longest life of a customer session (``POST /v1/customers/{id}/sessions``); a tenant may
    ask for a shorter one."""
    dev_endpoints: bool = False
    """Serve ``/v1/dev/*`` (a simulated SMS reply for the console channel); refused at start-up
    together with API keys."""
    tenant_rate_per_second: float = Field(0.0, ge=0)
    """Requests per second each tenant may make on average (0 = no limit). Counted in each
    process, off the store: a shared counter would add a round trip to every request."""
    tenant_burst: int = Field(100, ge=1)
    """Requests a tenant may make at once above its average rate."""
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    """Largest request body accepted; larger bodies get 413."""
    access_log: bool = False
    """One log line per HTTP request (off by default: it costs ~9 % of throughput)."""
    data_dir: Path = Path("var")
    """Folder for the embedded store (SQLite) and the local event log."""
    store: str = "embedded"
    """``embedded`` (SQLite file in data_dir) or ``redis://host:port/db``."""
    bus: str = "file"
    """``file`` (JSON-lines event log in data_dir) or ``kafka://host:port``."""
    embedded_working_set: int = Field(200_000, ge=1_000)
    """Customers (and terminals, merchants) whose feature state the embedded store keeps in
    memory; beyond it the earliest loaded are dropped and read from SQLite on next use."""
    store_timeout_seconds: float = Field(0.25, gt=0)
    """Longest wait for the store on the scoring path before deciding in degraded mode."""
    kafka_idempotent: bool = True
    """Idempotent Kafka producer (acks=all); off only for brokers that lack it (Tansu in tests)."""
    models_dir: Path = Path("models")
    """Model registry folder; the champion named in ``models/CHAMPION`` is served."""
    model_check_seconds: float = Field(5.0, gt=0)
    """How often the registry is checked for a newly promoted champion (hot swap)."""
    shadow_model: str = ""
    """A registry version scored beside the champion on every payment, its score logged in the
    decision event and never acted on (empty = none); one that fails to load is skipped with a
    warning at start-up, never a failed request."""
    gateway_callback_url: str = ""
    """Where verdicts of the ``default`` tenant's challenged payments are POSTed (signed); empty:
    no webhooks. Tenants with API keys use ``gateway_callbacks``."""
    gateway_callback_secret: SecretStr = SecretStr(DEFAULT_SECRET)
    """Key of the HMAC-SHA256 signature on the ``default`` tenant's verdict webhooks."""
    gateway_callbacks: dict[str, CallbackTarget] = {}
    """Verdict webhooks per tenant as JSON: {"acme": {"url": "https://…", "secret": "…"}}; each
    delivery names its tenant and payment, signed with that tenant's secret."""
    twilio_account_sid: str = ""
    """Twilio account SID; with the token and from-number it enables the ``sms`` channel."""
    twilio_auth_token: SecretStr = SecretStr("")
    """Twilio auth token: authenticates API calls and verifies webhook signatures."""
    twilio_from_number: str = ""
    """The Twilio number prompts are sent from (E.164)."""
    twilio_api_base: str = "https://api.twilio.com"
    """Twilio REST API base URL; point it at ``friction fake-twilio`` for local development."""
    twilio_timeout_seconds: float = Field(5.0, gt=0)
    """Longest wait for Twilio's API; a slow Twilio never holds a dialogue longer."""
    max_inflight: int = Field(256, ge=1)
    """Most requests one process works on at once; beyond it a request is answered 429 with
    ``Retry-After`` at once (ops endpoints exempt): queueing would turn overload into time-outs
    for everybody, shedding keeps the accepted requests fast."""
    overload_retry_after_seconds: int = Field(1, ge=1)
    """``Retry-After`` of a 429 sent under overload."""
    body_timeout_seconds: float = Field(5.0, gt=0)
    """Longest a client may take to send a request body once its headers are in; a slower
    one gets 408 and its connection is closed (slowloris). No in-flight slot is held while a
    body arrives: ``max_inflight`` counts only requests whose body is in."""
    max_inflight_per_client: int = Field(32, ge=1)
    """Most requests one client address may have in progress at once on routes without an
    API key (customer answers and pages, Twilio webhooks; SSE streams and long-polls
    excepted); beyond it 429 at once, before the body is read. Behind a reverse proxy every
    client has the proxy's address: raise it there, or limit per client at the proxy."""
    occurred_at_max_age_days: float = Field(30.0, gt=0)
    """Oldest ``occurred_at`` a payment to score may have, in days before the server's clock
    (422 beyond): a payment that old is a replay or a broken clock, and features and the event
    sink's date partitions must not take it as today's."""
    occurred_at_max_ahead_seconds: float = Field(86_400.0, ge=0)
    """How far ``occurred_at`` may lie after the server's clock (gateways' clocks drift and
    time zones get mixed up; a payment ten years ahead is an error, 422)."""
    webhook_allow_loopback: bool = False
    """Allow verdict webhooks to 127.0.0.0/8 and ::1 (tests, development); private, link-local
    and metadata addresses are refused regardless (SSRF)."""
    retention_sweep_seconds: float = Field(3600.0, gt=0)
    """How often the embedded store deletes records past their retention (Redis uses TTLs)."""
    rules_refresh_seconds: float = Field(1.0, gt=0)
    """How soon a replica applies the rules and lists another replica saved (one read of
    every tenant's version per period; changes made through a replica apply there at once)."""

    @property
    def twilio_enabled(self) -> bool:
        """True when the SMS channel has all it needs."""
        return bool(
            self.twilio_account_sid
            and self.twilio_auth_token.get_secret_value()
            and self.twilio_from_number
        )

    @model_validator(mode="after")
    def _production_safe(self) -> Settings:
        """With API keys, nothing of the open development mode may stay on (one line each)."""
        for tenant in [*self.api_keys, *self.gateway_callbacks]:
            if not re.fullmatch(TENANT_NAME, tenant):
                raise ValueError(f"tenant name {tenant!r}: use 1-32 of a-z 0-9 _ - (no '/')")
        unknown = set(self.gateway_callbacks) - {*self.api_keys, "default"}
        if unknown:
            raise ValueError(
                f"FRICTION_GATEWAY_CALLBACKS names tenants without an API key: {sorted(unknown)}"
            )
        if not self.api_keys:
            return self
        if self.dev_endpoints:
            raise ValueError("FRICTION_DEV_ENDPOINTS must be off when FRICTION_API_KEYS is set")
        if "console" in self.default_channels:
            raise ValueError(
                "FRICTION_DEFAULT_CHANNELS includes console (development only) while "
                "FRICTION_API_KEYS is set; use in_app and/or sms"
            )
        secrets = {"FRICTION_TOKEN_SECRET": self.token_secret,
                   "FRICTION_PSEUDONYM_SECRET": self.pseudonym_secret}  # fmt: skip
        if self.gateway_callback_url:
            secrets["FRICTION_GATEWAY_CALLBACK_SECRET"] = self.gateway_callback_secret
        for tenant, target in self.gateway_callbacks.items():
            secrets[f"FRICTION_GATEWAY_CALLBACKS ({tenant})"] = target.secret
        for name, secret in secrets.items():
            value = secret.get_secret_value()
            if value == DEFAULT_SECRET or len(value) < MIN_SECRET_CHARS:
                raise ValueError(
                    f"{name} is the development default or shorter than {MIN_SECRET_CHARS} "
                    "characters: set a secret of your own when FRICTION_API_KEYS is set"
                )
        return self

    @property
    def store_path(self) -> Path:
        """SQLite file of the embedded store."""
        return self.data_dir / "friction.db"

    @property
    def event_log_dir(self) -> Path:
        """Folder of the local JSON-lines event log."""
        return self.data_dir / "events"
