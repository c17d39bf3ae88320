"""Tenancy: API keys that name a tenant and a tier, per-key rate limits, per-tenant GPU budgets,
and the identity checks of the push routes."""
