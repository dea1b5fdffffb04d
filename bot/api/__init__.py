"""Other systems' access: the read API (bot/api/views.py) and outgoing webhooks (bot/api/webhooks.py)."""
