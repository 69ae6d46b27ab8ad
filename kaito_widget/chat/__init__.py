"""The conversation engine: one conversation's state, its requests, its history; no widgets, no cluster."""
