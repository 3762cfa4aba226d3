"""PEP 517 and PEP 660 hooks: each one delegates to manywheel.build.

A user error (bad configuration, a file that breaks the target policy) is printed
as a readable message and ends the hook with exit status 1, without a traceback.
"""
from __future__ import annotations

import functools
import os
import signal
import sys
import threading
from typing import Any, Callable, Mapping, TypeVar

from . import build
from .errors import ManywheelError

F = TypeVar("F", bound=Callable[..., Any])


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived: unwind so temporary files and partial outputs are removed."""


_previous_handlers: dict[signal.Signals, Any] = {}
_lent_to_fork = False


def _interrupt(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


def _before_fork() -> None:
    """Children the project's build forks (multiprocessing) must start with the previous SIGTERM
    disposition: a Python-level handler can lose a SIGTERM that arrives before the child has
    re-initialised its signal state, and then Pool.terminate() waits for ever."""
    global _lent_to_fork
    if signal.getsignal(signal.SIGTERM) is _interrupt:
        try:
            signal.signal(signal.SIGTERM, _previous_handlers.get(signal.SIGTERM, signal.SIG_DFL))
            _lent_to_fork = True
        except ValueError:  # fork from another thread: signal handlers cannot change there
            pass


def _after_fork_in_parent() -> None:
    global _lent_to_fork
    if _lent_to_fork:
        signal.signal(signal.SIGTERM, _interrupt)
        _lent_to_fork = False


def _after_fork_in_child() -> None:
    global _lent_to_fork
    _lent_to_fork = False
    if signal.getsignal(signal.SIGINT) is _interrupt:
        signal.signal(signal.SIGINT, _previous_handlers.get(signal.SIGINT, signal.default_int_handler))


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)


def _user_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, _interrupt)
            _previous_handlers.update(previous)
        try:
            return func(*args, **kwargs)
        except ManywheelError as e:
            print(e.render(), file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        except Interrupted as e:
            name = signal.Signals(e.args[0]).name
            print(f"manywheel: interrupted by {name}; nothing was written", file=sys.stderr, flush=True)
            raise SystemExit(128 + e.args[0]) from None
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return wrapper  # type: ignore[return-value]


@_user_errors
def get_requires_for_build_wheel(config_settings: Mapping[str, Any] | None = None) -> list[str]:
    return build.get_requires("get_requires_for_build_wheel", config_settings)


@_user_errors
def get_requires_for_build_sdist(config_settings: Mapping[str, Any] | None = None) -> list[str]:
    return build.get_requires("get_requires_for_build_sdist", config_settings)


@_user_errors
def get_requires_for_build_editable(config_settings: Mapping[str, Any] | None = None) -> list[str]:
    return build.get_requires("get_requires_for_build_editable", config_settings)


@_user_errors
def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Mapping[str, Any] | None = None) -> str:
    return build.prepare_metadata(metadata_directory, config_settings)


@_user_errors
def prepare_metadata_for_build_editable(metadata_directory: str, config_settings: Mapping[str, Any] | None = None) -> str:
    return build.prepare_metadata(metadata_directory, config_settings, editable=True)


@_user_errors
def build_wheel(wheel_directory: str, config_settings: Mapping[str, Any] | None = None,
                metadata_directory: str | None = None) -> str:
    return build.build_wheel(wheel_directory, config_settings, metadata_directory)


@_user_errors
def build_editable(wheel_directory: str, config_settings: Mapping[str, Any] | None = None,
                   metadata_directory: str | None = None) -> str:
    return build.build_wheel(wheel_directory, config_settings, metadata_directory, editable=True)


@_user_errors
def build_sdist(sdist_directory: str, config_settings: Mapping[str, Any] | None = None) -> str:
    return build.build_sdist(sdist_directory, config_settings)
