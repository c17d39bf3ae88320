"""One submission under an Idempotency-Key (batches, design campaigns): the key is claimed
before the request is validated; the same request again answers with the first one's recorded
outcome (replayed), a different request with the same key is a Conflict, and so is the same one
while the first is still under way. A request refused before anything was created (bad input,
over budget) releases its key; one that was created records its outcome for later replays."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from omtx.errors import Conflict, InputError
from omtx.gcp.firestore import idempotency
from omtx.settings import get_settings
from omtx.tenancy.errors import BudgetExceeded

Outcome = TypeVar("Outcome", bound=BaseModel)
Accepted = TypeVar("Accepted")


def digest(body: dict[str, Any]) -> str:
    """Same body, same digest, however its JSON objects were ordered."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def submit_once(
    tenant: str,
    key: str,
    fingerprint: str,
    batch_id: str,
    answer: type[Outcome],
    accept: Callable[[], Accepted],
    create: Callable[[Accepted, str], Outcome],
) -> Outcome:
    """`accept` validates (and charges) the request; `create` creates it under the batch id the
    claim holds (`batch_id`, or the dead claimant's it took over). A replay is `answer` rebuilt
    from the recorded outcome, with `replayed` set."""
    claim = idempotency.claim_idempotency_key(tenant, key, fingerprint, batch_id, get_settings().idempotency_lease_s)
    if claim.fingerprint != fingerprint:
        raise Conflict(f"Idempotency-Key {key!r} was used with a different request body")
    if claim.outcome is not None:
        return answer.model_validate(claim.outcome).model_copy(update={"replayed": True})
    if not claim.owned:
        raise Conflict(f"a request with Idempotency-Key {key!r} is still being processed", 2)
    try:
        accepted = accept()
    except (InputError, BudgetExceeded):
        idempotency.forget_idempotency_key(tenant, key)  # nothing was created
        raise
    outcome = create(accepted, claim.batch_id)
    idempotency.finish_idempotency_key(tenant, key, outcome.model_dump(mode="json"))
    return outcome
