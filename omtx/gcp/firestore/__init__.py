"""Firestore state, one module per aggregate, each guarding its documents' invariant.

Layout: batches/{batch} (batches), batches/{batch}/jobs/{job} (jobs, claims, completion,
cancellation, retries), batches/{batch}/shards/{nnnn} (counters, Increment only),
batches/{batch}/claims/finalize (finalization), batches/{batch}/calls/{call} (claims),
batches/{batch}/milestones/{p} (batches), batches/{batch}/webhooks/{delivery} (webhooks),
idempotency_keys/{digest} (idempotency), deleted_batches/{batch} (retention),
rejections/{id} (rejections), api_keys, rate_windows and tenants (tenants). `common` holds what
they share: document references, the update-time precondition and the raw query decoder.
"""
