"""Tenancy rules: API keys that name a tenant and a tier, per-key rate limits and per-tenant GPU
budgets. No I/O here: the records live in omtx.gcp.firestore.tenants, and the checks a request
goes through in omtx.api.access."""
