"""TensorFlow, imported without its start-up log lines.

TensorFlow 2.21 writes C++ log lines (oneDNN, CPU features, the XLA service) to file descriptor
2 while it loads and when it first compiles; ``TF_CPP_MIN_LOG_LEVEL`` silences the later ones
but not those printed before its logging is set up (absl's "All log messages before
absl::InitializeLog()"). So: the level is set to warnings and above (unless the user set it),
and descriptor 2 points at /dev/null while the module loads. An import error still raises.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def import_tensorflow() -> Any:
    """The ``tensorflow`` module, imported quietly the first time."""
    module = sys.modules.get("tensorflow")
    if module is not None:
        return module
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow
