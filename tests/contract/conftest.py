"""The ``store`` fixture of the ``Store`` contract (``test_store_contract*.py``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from friction.ports import Store
from friction.storage.redis_store import RedisStore

pytest.register_assert_rewrite("tests.contract.stores")  # its asserts report like a test's


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh store of each adapter (Redis: a unique key prefix per test)."""
    adapter: Store
    if request.param == "embedded":
        from friction.storage.embedded import EmbeddedStore

        adapter = EmbeddedStore(tmp_path / "store.db")
    else:
        url = request.getfixturevalue("redis_url")
        adapter = RedisStore.from_url(url, prefix=f"test:{uuid.uuid4().hex[:12]}:")
    yield adapter
    await adapter.close()
