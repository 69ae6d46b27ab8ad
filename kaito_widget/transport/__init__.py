"""Talking to an OpenAI-compatible server: the HTTP client, API modes, and stream parsing."""
