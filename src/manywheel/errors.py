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

    def render(self, lead: str = "manywheel: error: ") -> str:
        """The message after ``lead``, then each line of the hint as an indented ``hint:`` line.

        Messages never carry ``lead`` or hint lines themselves: this is the one place that
        writes them (``manywheel check`` passes its own ``lead`` for a report line)."""
        lines = [lead + self.message]
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

    def render(self, lead: str = "manywheel: error: ") -> str:
        return "\n".join(e.render(lead) for e in self.errors)


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
    """The built files do not meet the requested policy: the full report
    (``check.report.render_violations``) is the message."""

    def __init__(self, report: str, *, hint: str | None = None) -> None:
        super().__init__(report, hint=hint)


class UsageError(ManywheelError):
    """A ``manywheel`` command line that cannot be acted on: a bad option value, or a path that
    does not exist or holds nothing to judge.  ``argument`` is the option or path at fault."""

    def __init__(self, message: str, *, argument: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.argument = argument


class MatrixError(ManywheelError):
    """``manywheel wheels`` cannot act: a bad option or selector, an architecture without its cross
    compiler, a project that does not build with manywheel.  ``errors``: several, reported together."""

    def __init__(self, message: str, *, hint: str | None = None, errors: list[ManywheelError] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.errors = errors or []

    def render(self, lead: str = "manywheel: error: ") -> str:
        if self.errors:
            return "\n".join(e.render(lead) for e in self.errors)
        return super().render(lead)
