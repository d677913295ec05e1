"""What every entry point does once, first: the environment flags of this process.

Called at the top of `app.py`, `python -m engine`, every benchmark and `tests/conftest.py`,
before anything imports litellm, Hugging Face or tokenizers code (they read these flags when
they are imported). Values already set in the environment are kept.
"""

from __future__ import annotations

import os

# Nothing may download model weights or price tables at run time, and tokenizers must not
# start their own thread pool beside ours (it warns, then deadlocks after a fork).
PROCESS_FLAGS: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "TOKENIZERS_PARALLELISM": "false",
}


def prepare_process() -> None:
    """Set the process's environment flags (each only when not already set)."""
    for name, value in PROCESS_FLAGS.items():
        os.environ.setdefault(name, value)
