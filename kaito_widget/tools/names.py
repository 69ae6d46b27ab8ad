"""What a tool may be called: the one rule both making a tool and checking a saved transcript need."""

import re

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # what OpenAI (and vLLM's clients) accept as a function name
