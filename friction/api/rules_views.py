"""HTTP handlers of analysts' lists and rules (``/v1/lists``, ``/v1/rules``), per tenant.

Everything is read and written under the caller's tenant (its API key names it): another
tenant's list or rule is simply not there (404), even under the same name. A change is
checked before it is stored — a rule compiles among the tenant's lists and names a known
flow, a list's kind cannot change under its entries, a list that rules read cannot go —
and the tenant's rule set is rebuilt before the answer, so the next payment on this
replica sees it (other replicas within ``rules_refresh_seconds``). ``docs/rules.md``
shows every route with curl.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from friction.api.auth import tenant_of_request
from friction.api.bodies import parse_body, validate_query
from friction.api.carddata import contains_pan
from friction.api.keys import FLOWS, RULES
from friction.api.middleware import error_response
from friction.domain.payment import Identifier, Strict
from friction.errors import Conflict, InvalidInput, NotFound
from friction.rules.expressions import Vocabulary
from friction.rules.lists import (
    EntryBody,
    ListBody,
    ListEntry,
    ListName,
    RuleList,
    make_entry,
    normalise,
    parse_csv,
)
from friction.rules.rules import Rule, RuleBody, RuleId
from friction.rules.store import Definitions, ListState, RulesStore

MAX_PAGE = 1000


class ListIn(ListBody):
    """``PUT /v1/lists/{list}``: the list's definition and who changes it."""

    analyst: Identifier
    """Recorded as the list's ``updated_by``."""


class ListOut(RuleList):
    """A list as stored, with how many entries it holds (expired ones included)."""

    size: int = Field(ge=0)


class ListsOut(BaseModel):
    """``GET /v1/lists``: the tenant's lists by name."""

    lists: list[ListOut]


class EntryIn(EntryBody):
    """``POST /v1/lists/{list}/entries`` (JSON): one entry and who adds it."""

    analyst: Identifier
    """Recorded as the entry's ``added_by``."""


class EntryQuery(Strict):
    """``GET /v1/lists/{list}/entries``: a page of entries in value order."""

    limit: int = Field(100, ge=1, le=MAX_PAGE)
    after: str | None = Field(None, max_length=200, description="Cursor from ``next``.")


class UploadQuery(Strict):
    """``POST /v1/lists/{list}/entries`` with ``Content-Type: text/csv``: who uploads."""

    analyst: Identifier | None = Field(
        None, description="Required with text/csv (a JSON entry names its analyst in the body)."
    )


class EntryPage(BaseModel):
    """One page of entries; pass ``next`` as ``after`` for the next page (null: the last)."""

    entries: list[ListEntry]
    next: str | None = None


class Added(BaseModel):
    """A CSV upload's answer: every row was added (or none was)."""

    added: int


class RuleIn(RuleBody):
    """``PUT /v1/rules/{rule_id}``: the rule and who saves it."""

    analyst: Identifier
    """Recorded as the rule version's ``updated_by``."""


class BrokenRule(BaseModel):
    """A rule of the live rule set that no longer compiles: it is never evaluated."""

    id: str
    version: int
    message: str


class RulesOut(BaseModel):
    """``GET /v1/rules``: the tenant's rules by id, and those that no longer compile."""

    rules: list[Rule]
    broken: list[BrokenRule]


class RuleVersions(BaseModel):
    """``GET /v1/rules/{rule_id}/versions``: every version, oldest first (kept after a delete)."""

    versions: list[Rule]


_LIST_NAME: TypeAdapter[str] = TypeAdapter(ListName)
_RULE_ID: TypeAdapter[str] = TypeAdapter(RuleId)


def _json(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=model.model_dump_json(), content_type="application/json"
    )


def _path(request: web.Request, name: str, adapter: TypeAdapter[str], rule: str) -> str:
    """A path parameter checked against its pattern (422 saying which)."""
    try:
        return adapter.validate_python(request.match_info[name])
    except ValidationError:
        raise InvalidInput(f"{name} must be {rule}", fields=[name]) from None


def _list_name(request: web.Request) -> str:
    return _path(request, "list", _LIST_NAME, "a lower-case letter, then up to 62 of a-z 0-9 _")


def _rule_id(request: web.Request) -> str:
    return _path(request, "rule_id", _RULE_ID, "1 to 64 of A-Z a-z 0-9 _ . - (not first: _ . -)")


def _store(request: web.Request) -> RulesStore:
    return request.app[RULES].store


async def _refreshed(request: web.Request, tenant: str) -> None:
    """Rebuild the tenant's rule set now: the next payment on this replica sees the change."""
    await request.app[RULES].refresh(tenant)


async def _existing(store: RulesStore, tenant: str, name: str) -> ListState:
    state = (await store.definitions(tenant)).list_named(name)
    if state is None:
        raise NotFound(f"no list {name!r}; PUT /v1/lists/{name} creates it")
    return state


def _list_out(spec: RuleList, size: int) -> ListOut:
    return ListOut.model_validate({**spec.model_dump(), "size": size})


async def list_lists(request: web.Request) -> web.Response:
    """GET /v1/lists — the tenant's lists with their sizes."""
    definitions = await _store(request).definitions(tenant_of_request(request))
    return _json(ListsOut(lists=[_list_out(s.spec, s.size) for s in definitions.lists]))


async def put_list(request: web.Request) -> web.Response:
    """PUT /v1/lists/{list} — create a list (201) or change its description or action (200)."""
    name = _list_name(request)
    body = await parse_body(request, ListIn)
    tenant, store = tenant_of_request(request), _store(request)
    known = (await store.definitions(tenant)).list_named(name)
    if known is not None and known.size and known.spec.kind != body.kind:
        raise Conflict(
            f"list {name!r} holds {known.size} entries normalised as {known.spec.kind}: its "
            f"kind cannot become {body.kind}; make a new list (or empty this one first)",
            fields=["kind"],
        )
    fields = body.model_dump(exclude={"analyst"})
    when = datetime.now(UTC)
    try:
        spec = RuleList(name=name, updated_by=body.analyst, updated_at=when, **fields)
    except ValidationError as error:  # an action on a kind the payment does not carry
        message = error.errors(include_input=False, include_url=False)[0]["msg"]
        raise InvalidInput(message.removeprefix("Value error, "), fields=["action"]) from None
    stored = await store.save_list(tenant, spec)
    await _refreshed(request, tenant)
    return _json(_list_out(stored, known.size if known else 0), 201 if known is None else 200)


async def delete_list(request: web.Request) -> web.Response:
    """DELETE /v1/lists/{list} — the list and its entries (409 while a rule reads it)."""
    name = _list_name(request)
    tenant, store, vocabulary = tenant_of_request(request), _store(request), _vocabulary(request)
    definitions = await store.definitions(tenant)
    if definitions.list_named(name) is None:
        raise NotFound(f"no list {name!r}")
    readers = await asyncio.to_thread(_readers, vocabulary, definitions, name)
    if readers:
        raise Conflict(
            f"rules read list {name!r}: {', '.join(readers)}; change or delete them first",
            fields=readers,
        )
    if not await store.delete_list(tenant, name):
        raise NotFound(f"no list {name!r}")
    await _refreshed(request, tenant)
    return web.Response(status=204)


def _readers(vocabulary: Vocabulary, definitions: Definitions, name: str) -> list[str]:
    """The rules that read list ``name``: they compile with it and not without it."""
    names = [state.spec.name for state in definitions.lists]
    others = [n for n in names if n != name]
    readers = []
    for rule in definitions.rules:
        if _compiles(vocabulary, rule.expression, others):
            continue
        if _compiles(vocabulary, rule.expression, names):
            readers.append(rule.id)
    return readers


def _compiles(vocabulary: Vocabulary, expression: str, list_names: Sequence[str]) -> bool:
    try:
        vocabulary.check(expression, list_names)
    except InvalidInput:
        return False
    return True


async def list_entries(request: web.Request) -> web.Response:
    """GET /v1/lists/{list}/entries — a page of entries in value order."""
    name = _list_name(request)
    query = validate_query(request, EntryQuery)
    tenant, store = tenant_of_request(request), _store(request)
    await _existing(store, tenant, name)
    found = await store.list_entries(tenant, name, query.limit + 1, query.after)
    page = found[: query.limit]
    more = len(found) > query.limit
    return _json(EntryPage(entries=page, next=page[-1].value if more else None))


async def add_entries(request: web.Request) -> web.StreamResponse:
    """POST /v1/lists/{list}/entries — one entry (JSON) or many (text/csv, all or none)."""
    name = _list_name(request)
    if request.content_type not in ("application/json", "text/csv"):
        return error_response(
            415, "unsupported_media_type",
            "send Content-Type: application/json (one entry) or text/csv (many)",
        )  # fmt: skip
    analyst = validate_query(request, UploadQuery).analyst
    tenant, store = tenant_of_request(request), _store(request)
    kind = (await _existing(store, tenant, name)).spec.kind
    now = datetime.now(UTC)
    if request.content_type == "text/csv":
        if analyst is None:
            raise InvalidInput("a CSV upload names its analyst: ?analyst=…", fields=["analyst"])
        text = _decoded(await request.read(), request.charset)
        entries = await asyncio.to_thread(
            parse_csv, text, kind, analyst, now, rejects_card_data=contains_pan
        )
        if not entries:
            raise InvalidInput("the CSV has a header but no rows", fields=["rows"])
        await store.add_entries(tenant, name, entries)
        await _refreshed(request, tenant)
        return _json(Added(added=len(entries)), 201)
    if analyst is not None:
        raise InvalidInput("a JSON entry names its analyst in the body", fields=["analyst"])
    body = await parse_body(request, EntryIn)
    entry = make_entry(kind, body, body.analyst, now)
    await store.add_entries(tenant, name, [entry])
    await _refreshed(request, tenant)
    return _json(entry, 201)


def _decoded(raw: bytes, charset: str | None) -> str:
    try:
        return raw.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        raise InvalidInput(
            f"the CSV is not {charset or 'utf-8'} text: send it as UTF-8", fields=["body"]
        ) from None


async def delete_entry(request: web.Request) -> web.Response:
    """DELETE /v1/lists/{list}/entries/{value} — the value is normalised for the list's kind."""
    name = _list_name(request)
    tenant, store = tenant_of_request(request), _store(request)
    kind = (await _existing(store, tenant, name)).spec.kind
    value = normalise(kind, request.match_info["value"])
    if not await store.remove_entry(tenant, name, value):
        raise NotFound(f"list {name!r} has no such entry")
    await _refreshed(request, tenant)
    return web.Response(status=204)


async def list_rules(request: web.Request) -> web.Response:
    """GET /v1/rules — the tenant's rules, and those of its live set that no longer compile."""
    tenant = tenant_of_request(request)
    await _refreshed(request, tenant)  # ``broken`` describes the rules listed
    definitions = await _store(request).definitions(tenant)
    rule_set = request.app[RULES].get(tenant)
    broken = [
        BrokenRule(id=f.id, version=f.version, message=f.message)
        for f in (rule_set.broken if rule_set is not None else ())
        if f.source == "rule"
    ]
    return _json(RulesOut(rules=definitions.rules, broken=broken))


async def put_rule(request: web.Request) -> web.Response:
    """PUT /v1/rules/{rule_id} — checked, then stored as a new version (201 new, 200 changed)."""
    rule_id = _rule_id(request)
    if rule_id == "backtest":  # POST /v1/rules/backtest tries rules: no rule takes its name
        raise InvalidInput("rule id 'backtest' is reserved: choose another", fields=["rule_id"])
    body = await parse_body(request, RuleIn)
    tenant, store = tenant_of_request(request), _store(request)
    flows = request.app[FLOWS]
    if body.flow is not None and body.flow not in flows:
        raise InvalidInput(
            f"unknown flow {body.flow!r}: one of {', '.join(flows)}", fields=["flow"]
        )
    definitions = await store.definitions(tenant)
    _vocabulary(request).check(body.expression, [s.spec.name for s in definitions.lists])
    fields: dict[str, Any] = body.model_dump(exclude={"analyst"})
    rule = Rule(id=rule_id, updated_by=body.analyst, updated_at=datetime.now(UTC), **fields)
    stored = await store.save_rule(tenant, rule)
    await _refreshed(request, tenant)
    return _json(stored, 201 if definitions.rule_named(rule_id) is None else 200)


async def show_rule(request: web.Request) -> web.Response:
    """GET /v1/rules/{rule_id} — the rule's current version."""
    rule_id = _rule_id(request)
    rule = (await _store(request).definitions(tenant_of_request(request))).rule_named(rule_id)
    if rule is None:
        raise NotFound(f"no rule {rule_id!r}")
    return _json(rule)


async def rule_versions(request: web.Request) -> web.Response:
    """GET /v1/rules/{rule_id}/versions — every version the rule had, oldest first."""
    rule_id = _rule_id(request)
    versions = await _store(request).rule_versions(tenant_of_request(request), rule_id)
    if not versions:
        raise NotFound(f"no rule {rule_id!r} was ever saved")
    return _json(RuleVersions(versions=versions))


async def delete_rule(request: web.Request) -> web.Response:
    """DELETE /v1/rules/{rule_id} — the rule stops acting; its versions stay readable."""
    rule_id = _rule_id(request)
    tenant = tenant_of_request(request)
    if not await _store(request).delete_rule(tenant, rule_id):
        raise NotFound(f"no rule {rule_id!r}")
    await _refreshed(request, tenant)
    return web.Response(status=204)


def _vocabulary(request: web.Request) -> Vocabulary:
    return request.app[RULES].vocabulary
