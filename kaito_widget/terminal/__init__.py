"""The terminal face: ``kaito-chat``."""
