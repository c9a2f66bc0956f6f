"""Tenants: which gateway a request comes from, and the one way tenant-owned keys are built.

Each tenant is a world of its own: its payments, customers, merchants, terminals,
dialogues, reviews, marks, budgets, preferences and sessions never meet another
tenant's, even when the ids are the same. The core therefore works on *scoped*
ids, ``<tenant>/<id>``, built here and nowhere else; the HTTP edge scopes what
comes in (``scope_payment``, ``scoped``) and shows tenants their own ids again
(``local_id``). ``/`` cannot occur in an API identifier, so a scoped id never
collides with a plain one. The single-tenant default (``default``, no API keys)
keeps plain ids, so the embedded quick start and its event log read as the API does.
"""

from __future__ import annotations

from friction.domain.payment import Payment

DEFAULT_TENANT = "default"


def scoped(tenant: str, local: str) -> str:
    """The core's id of a tenant's ``local`` id (payment, customer, merchant, review...)."""
    return local if tenant == DEFAULT_TENANT else f"{tenant}/{local}"


def tenant_of(key: str) -> str:
    """The tenant a scoped id belongs to."""
    tenant, slash, _ = key.partition("/")
    return tenant if slash else DEFAULT_TENANT


def local_id(key: str) -> str:
    """The id the tenant knows (the scoped id without its tenant)."""
    return key.partition("/")[2] or key


def scope_payment(tenant: str, payment: Payment) -> Payment:
    """The payment with every id that keys state (customer, merchant, terminal) scoped.

    ``payment_id`` stays the tenant's: responses echo it; its store key is ``scoped``.
    """
    if tenant == DEFAULT_TENANT:
        return payment
    merchant = payment.merchant
    terminal = merchant.terminal_id
    return payment.model_copy(
        update={
            "customer": payment.customer.model_copy(
                update={"id": scoped(tenant, payment.customer.id)}
            ),
            "merchant": merchant.model_copy(
                update={
                    "id": scoped(tenant, merchant.id),
                    "terminal_id": None if terminal is None else scoped(tenant, terminal),
                }
            ),
        }
    )
