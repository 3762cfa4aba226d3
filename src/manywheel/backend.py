"""PEP 517 and PEP 660 hooks: each one delegates to manywheel.build.

A user error (bad configuration, a file that breaks the target policy) is printed
as a readable message and ends the hook with exit status 1, without a traceback.
"""
from __future__ import annotations

import functools
import signal
import sys
import threading
from typing import Any, Callable, Mapping, TypeVar

from . import build
from .errors import ManywheelError

F = TypeVar("F", bound=Callable[..., Any])


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived: unwind so temporary files and partial outputs are removed."""


def _interrupt(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


def _user_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, _interrupt)
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
