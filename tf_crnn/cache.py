"""The user's cache folder: what is slow to compute and the same on every run on a machine
(a fitted character language model, which fonts can draw which characters) is kept here.

$TF_CRNN_CACHE names it (an empty string: no cache at all), else $XDG_CACHE_HOME/tf_crnn,
else ~/.cache/tf_crnn. Everything in it can be deleted at any time; it is made again.
"""

import os
from typing import Optional

CACHE_ENV = "TF_CRNN_CACHE"


def cache_folder() -> Optional[str]:
    """The cache folder, or None when $TF_CRNN_CACHE is set empty."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return configured or None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tf_crnn")
