"""Where review items come from for a notebook: a running service, or the store itself.

``await load_reviews("http://127.0.0.1:8080")`` pages through ``GET /v1/reviews``
(what an analyst without store access uses); ``await load_reviews("var")`` or a
``redis://`` URL reads the store the service writes, through the same ``Store``
port and the composition root's ``open_store`` (no adapter is built here).
Both give the same rows; ``reviews_frame`` types them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pandas as pd

from friction.analytics.reviews import reviews_frame
from friction.analytics.sources import SourceNotFound
from friction.domain.records import ReviewStatus
from friction.domain.tenancy import DEFAULT_TENANT
from friction.ports import ReviewStore
from friction.review.desk import as_seen_by_tenant

PAGE = 100


async def fetch_reviews(
    base_url: str,
    status: ReviewStatus | None = None,
    assignee: str | None = None,
    api_key: str | None = None,
) -> list[dict[str, Any]]:
    """Every item the service lists (following ``next``), as JSON mappings; ``api_key``: the
    tenant's key when the service has API keys (its queue is the one listed)."""
    url = base_url.rstrip("/") + "/v1/reviews"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    query = {k: v for k, v in {"status": status, "assignee": assignee}.items() if v}
    items: list[dict[str, Any]] = []
    after: str | None = None
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        while True:
            params = {**query, "limit": str(PAGE), **({"after": after} if after else {})}
            async with session.get(url, params=params) as response:
                response.raise_for_status()
                page: dict[str, Any] = await response.json()
            items.extend(page["items"])
            after = page.get("next")
            if not after:
                return items


async def store_reviews(
    store: ReviewStore,
    status: ReviewStatus | None = None,
    assignee: str | None = None,
    tenant: str = DEFAULT_TENANT,
) -> list[dict[str, Any]]:
    """Every item of ``tenant`` in a store, serialised exactly as the API would."""
    items: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        found, after = await store.list_reviews(tenant, status, assignee, PAGE, after)
        items.extend(as_seen_by_tenant(r).model_dump(mode="json") for r in found)
        if after is None:
            return items


async def load_reviews(
    source: str | Path,
    status: ReviewStatus | None = None,
    assignee: str | None = None,
    tenant: str = DEFAULT_TENANT,
    api_key: str | None = None,
) -> pd.DataFrame:
    """A tenant's review queue as a typed frame, from a service URL (with that tenant's
    ``api_key``), a data dir or a Redis URL (with ``tenant``)."""
    text = str(source)
    if text.startswith(("http://", "https://")):
        return reviews_frame(await fetch_reviews(text, status, assignee, api_key))
    from friction.app import open_store  # the composition root builds adapters
    from friction.settings import Settings

    if text.startswith(("redis://", "rediss://", "unix://")):
        settings = Settings(store=text)
    elif (Path(text) / "friction.db").is_file():
        settings = Settings(data_dir=Path(text))
    else:
        raise SourceNotFound(f"no review store at {text}: give a data dir, redis:// or http://")
    store = open_store(settings)
    try:
        return reviews_frame(await store_reviews(store, status, assignee, tenant))
    finally:
        await store.close()
