"""Signed webhooks: a batch's milestones (10/25/50/75/90/100 %) and its completion, POSTed to the
URL the batch was submitted with.

Aggregate logs a delivery (batches/{batch}/webhooks/{delivery}) once per event and publishes a
`webhook.due` message; the complete service makes one attempt per message and records it; the
reconciler's sweep re-publishes pending deliveries once their backoff has passed. So a dead
receiver never holds up the pipeline, and the log on the batch shows every attempt. Receivers
verify the `OMTX-Signature` header with `signing.verify_signature` and dedupe on the event id.
"""
