"""The HTTPS API served by services/submit."""
