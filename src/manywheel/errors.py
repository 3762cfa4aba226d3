"""Every error manywheel reports to a user.

One base class, one subclass per stage.  Each carries a message that says what
failed and where, and a ``hint`` that says how to fix it.  The backend and the CLI
print :meth:`ManywheelError.render` and exit non-zero; users never see a traceback
for an error of theirs.
"""
from __future__ import annotations


class ManywheelError(Exception):
    """Base of every error manywheel reports to a user."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        lines = [f"manywheel: error: {self.message}"]
        if self.hint:
            lines.extend(f"  hint: {line}" for line in self.hint.splitlines())
        return "\n".join(lines)


class SettingsError(ManywheelError):
    """Bad configuration: pyproject.toml, ``-C manywheel.*`` or ``MANYWHEEL_*``."""

    def __init__(self, message: str, *, key: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.key = key


class SettingsErrors(SettingsError):
    """Several configuration errors, reported together."""

    def __init__(self, errors: list[SettingsError]) -> None:
        super().__init__(f"{len(errors)} problems in the configuration")
        self.errors = errors

    def render(self) -> str:
        return "\n".join(e.render() for e in self.errors)


class PolicyError(ManywheelError):
    """An unknown policy name, or policy data that does not hold together."""


class ElfError(ManywheelError):
    """A file that cannot be read as an ELF file."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot read {path} as an ELF file: {reason}")
        self.path = path
        self.reason = reason


class InnerBackendError(ManywheelError):
    """The wrapped PEP 517 backend cannot be loaded or failed."""


class BaselineError(ManywheelError):
    """The pinned ABI baseline (stubs, shims, header) cannot be made."""


class ToolchainError(ManywheelError):
    """A compiler or linker is missing or failed."""


class WheelError(ManywheelError):
    """A wheel cannot be read or written."""


class ComplianceError(ManywheelError):
    """The built files do not meet the requested policy: the full report is the message."""

    def __init__(self, report: str, *, hint: str | None = None) -> None:
        super().__init__(report, hint=hint)

    def render(self) -> str:
        text = self.message if self.message.startswith("manywheel: error:") else f"manywheel: error: {self.message}"
        if self.hint:
            text += "".join(f"\n  hint: {line}" for line in self.hint.splitlines())
        return text
