"""Tenants: which gateway a request comes from, and the keys that keep tenants apart.

A payment is stored under ``<tenant>/<payment_id>`` so two gateways may use the
same payment id without meeting: idempotency, reads and labels are all per
tenant. The single-tenant default (``default``) keeps plain payment ids, so
the embedded quick start and its event log read as the API does.
"""

from __future__ import annotations

DEFAULT_TENANT = "default"


def payment_key(tenant: str, payment_id: str) -> str:
    """The store key of a tenant's payment."""
    return payment_id if tenant == DEFAULT_TENANT else f"{tenant}/{payment_id}"


def tenant_of(key: str) -> str:
    """The tenant a stored payment key belongs to."""
    tenant, slash, _ = key.partition("/")
    return tenant if slash else DEFAULT_TENANT
