"""Ctrl-C that a build cannot lose.

The command line's SIGINT handler raises KeyboardInterrupt in the main process. Python drops an
exception raised while a finaliser runs (a `__del__` method or a weakref callback: it prints
"Exception ignored in ..." and goes on), and the process pools of a parallel build run many of
them, so the exception can vanish and the build go on to finish as if no Ctrl-C had come (seen
once in about twenty runs of the interrupt test under load). The handler therefore also records
the request, and the build checks the record before it commits a config or the finished build.
"""

from __future__ import annotations

import threading

_requested = threading.Event()


def request() -> None:
    """Record a Ctrl-C and raise KeyboardInterrupt (the signal handler's whole work)."""
    _requested.set()
    raise KeyboardInterrupt


def check() -> None:
    """Raise KeyboardInterrupt when Ctrl-C came, even if the exception its handler raised was lost."""
    if _requested.is_set():
        raise KeyboardInterrupt


def clear() -> None:
    """Forget a recorded Ctrl-C (for a caller that handled it and goes on, such as a test)."""
    _requested.clear()
