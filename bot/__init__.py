"""Asisten UMKM: the running service (pipeline, channels, sender, scheduler, web pages, CLI)."""
