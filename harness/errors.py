"""One error hierarchy for the whole harness.

Every error carries fields (serial, command, path, ...) rather than only a
formatted string, so callers can act on them and the CLI can print one clear
line. `harness.cli` is the only place that turns a `HarnessError` into a
message and an exit code.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence

# Exit codes shared by every command (documented in README.md).
EXIT_OK = 0
EXIT_FAILURES = 1  # the command ran, but something measured failed or regressed
EXIT_INPUT = 2  # unusable input: unknown variant, corrupt file, bad option
EXIT_DEVICE = 3  # device or environment trouble: absent, unauthorized, disconnected, disk
EXIT_UNEXPECTED = 70  # a bug: an error the harness did not expect (sysexits EX_SOFTWARE)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""

    exit_code: int = EXIT_INPUT

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ConfigError(HarnessError):
    """harness.toml / [tool.harness] is malformed or names something unknown."""


class UnknownVariantError(HarnessError):
    """A variant selection matched nothing; carries close matches to suggest."""

    def __init__(self, selection: str, suggestions: Sequence[str] = ()) -> None:
        self.selection = selection
        self.suggestions = list(suggestions)
        hint = (
            f"did you mean {', '.join(self.suggestions)}?"
            if self.suggestions
            else ("see `harness variants` for the list")
        )
        super().__init__(f"unknown variant {selection!r}", hint=hint)


class ModelError(HarnessError):
    """A model file is missing, truncated or not a TFLite flatbuffer."""

    def __init__(self, message: str, *, path: str, hint: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}", hint=hint)


class ConversionError(HarnessError):
    """The TF converter failed for one variant."""

    def __init__(self, message: str, *, variant: str, quant: str) -> None:
        self.variant = variant
        self.quant = quant
        super().__init__(f"converting {variant} ({quant}) failed: {message}")


class UnknownQuantError(HarnessError):
    """A quantization name the converter does not know (fp32, int8, dynamic, fp16)."""

    def __init__(self, quant: str, known: Sequence[str]) -> None:
        self.quant = quant
        self.known = list(known)
        super().__init__(f"unknown quantization {quant!r}", hint=f"use one of {', '.join(known)}")


class DeviceError(HarnessError):
    """A device could not be found, reached or commanded.

    Like mobly's `AdbError`, it carries the command, the device command's own
    status (`device_exit_code`; `exit_code` is the CLI's) and its stdout and
    stderr apart. For a failure of adb itself, adb's message is the stderr.
    """

    exit_code = EXIT_DEVICE

    def __init__(
        self,
        message: str,
        *,
        serial: str | None = None,
        command: str | None = None,
        device_exit_code: int | None = None,
        stdout: str | None = None,
        stderr: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.serial = serial
        self.command = command
        self.device_exit_code = device_exit_code
        self.stdout = stdout
        self.stderr = stderr
        where = f"{serial}: " if serial else ""
        super().__init__(f"{where}{message}", hint=hint)

    @property
    def output(self) -> str | None:
        """stdout and stderr together (stderr last), for messages and records."""
        if self.stdout is None and self.stderr is None:
            return None
        return (self.stdout or "") + (self.stderr or "")


class DeviceNotFoundError(DeviceError):
    """No attached device matches the --device selection."""


class AmbiguousDeviceError(DeviceError):
    """Several attached devices match a selection that wants exactly one."""


class DeviceUnauthorizedError(DeviceError):
    """The device is attached but has not accepted this host's adb key."""


class DeviceOfflineError(DeviceError):
    """The device went away (disconnected, offline, or dropped by the server)."""


class DeviceLostError(DeviceError):
    """The device stayed away longer than --reconnect-timeout; the run stops, resumable."""


class DeviceTimeoutError(DeviceError):
    """A device call did not finish within its timeout."""


class CallHung(DeviceTimeoutError):
    """A device call missed its deadline while the device still answers: end the trial."""


class SessionAborted(DeviceError):
    """The run is stopping (Ctrl-C, SIGTERM): calls in flight were cut, new ones refused."""


class DeviceBusyError(DeviceError):
    """The phone is leased by another run (exit 3)."""


class DeviceCommandError(DeviceError):
    """A shell command on the device exited non-zero."""


class TransferError(DeviceError):
    """A push or pull failed or did not verify (size / sha256 mismatch)."""


class NoEnergySourceError(DeviceError):
    """Energy was asked for, but the phone shows the shell neither power rails nor a fuel gauge."""


class EnergyOnUsbError(DeviceError):
    """Only the fuel gauge can measure energy, and the phone is on external power.

    The charger then carries the phone's load, so the battery's current says
    nothing about the benchmark; accepting that bias is the user's call.
    """


class BinaryError(HarnessError):
    """The benchmark binary is missing, unreadable or built for another ABI."""

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        self.path = path
        super().__init__(message if not path else f"{path}: {message}", hint=hint)


class DownloadError(HarnessError):
    """Fetching an official binary or archive failed."""

    exit_code = EXIT_DEVICE


class UrlError(HarnessError):
    """A URL that cannot be fetched as written: malformed, not http(s), no host."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(f"not a usable URL {url!r}: {reason}")


class PlanError(HarnessError):
    """The run's settings describe no trials, or an impossible one (bad option values)."""


class OptionError(PlanError):
    """An option's value is empty or outside its documented range (`harness.ranges`).

    A PlanError, since most options are `harness run`'s; every command raises it alike.
    """

    def __init__(self, message: str, *, option: str, hint: str | None = None) -> None:
        self.option = option
        super().__init__(message, hint=hint)


class ParseError(HarnessError):
    """benchmark_model output could not be understood at all."""


class ResultsError(HarnessError):
    """A run folder or baseline is missing, unreadable or of an unknown schema."""

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        self.path = path
        super().__init__(message if not path else f"{path}: {message}", hint=hint)


class SchemaVersionError(ResultsError):
    """A stored file has a schema_version this harness does not know."""


class BadFractionError(ResultsError):
    """A threshold or confidence that is neither `N%` nor a fraction in (0, 1)."""


class StatsInputError(HarnessError):
    """A threshold, confidence or latency value that the statistical test cannot use."""


class PdfError(HarnessError):
    """The report could not be printed to PDF (no Chromium, or Chromium failed)."""

    exit_code = EXIT_DEVICE

    def __init__(self, message: str, *, path: str, hint: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}", hint=hint)


class ContextMismatchError(HarnessError):
    """Two runs cannot be compared: device, SoC, ABI or binary differ."""

    def __init__(self, differences: Sequence[str]) -> None:
        self.differences = list(differences)
        super().__init__(
            "refusing to compare runs with different context: " + "; ".join(self.differences),
            hint="pass --allow-context-change to compare anyway",
        )


class SimulatorError(HarnessError):
    """The simulated device could not start (missing bwrap/mksh, port in use, ...)."""

    exit_code = EXIT_DEVICE


class CorePolicyError(HarnessError):
    """A --cores policy is neither big/prime/little/all nor a usable hex mask."""


class OutputPathError(HarnessError):
    """An output option names a folder where a file goes, or a file where a folder goes."""

    def __init__(self, message: str, *, path: str, hint: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}", hint=hint)


class InputFileError(HarnessError):
    """An input file the harness will not read: not a regular file, too big, not UTF-8 text.

    Exit 2: the input is unusable (`harness.inputs` holds the rules).
    """

    def __init__(self, message: str, *, path: str, hint: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}", hint=hint)


class StorageError(HarnessError):
    """The host refused a write or read: permission, read-only or full filesystem.

    The input was fine; the environment was not (exit 3), so the message names
    the path and the operating system's reason, and nothing else.
    """

    exit_code = EXIT_DEVICE

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        self.path = path
        super().__init__(message if not path else f"{path}: {message}", hint=hint)


# Internal signals. Each is caught where it is raised, or one layer up, and
# turned into a HarnessError (or, in the simulated device, a dropped
# connection); none is meant for a user. They are not HarnessErrors on purpose:
# an `except HarnessError` must not swallow one, and one that escaped is a bug.


class SyncTimeout(Exception):
    """adb sync: the device did not answer before the deadline."""


class SyncClosed(Exception):
    """adb sync: the other end closed the connection in the middle of an exchange.

    Raised by the host's sync client (the device went away) and by the simulated
    device's sync service (the host went away).
    """


class SyncFailed(Exception):
    """adb sync: the device answered FAIL (its message is the exception text)."""


class ProtocolError(Exception):
    """The simulated device's peer sent something that is not an adb packet (dropped)."""


class TooMuch(Exception):
    """An archive asked for more work than its size allows (becomes a ModelError)."""


class Corrupt(Exception):
    """A flatbuffer's bytes do not hold what the schema says they should (a ModelError)."""


class UntrustedRecord(ValueError):
    """A well-formed trials.jsonl line whose values cannot be trusted (a ResultsError).

    A ValueError, as a line that is not a record at all is; caught before it.
    """


# OSError numbers that mean "this path names the wrong thing" (the user's input)
# rather than "the host cannot do it" (permissions, a full or read-only disk, I/O).
_PATH_ERRNOS = frozenset(
    {errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP}
)

# OSError numbers that mean the host's storage refused: permission, a full,
# read-only or failing disk, a file-size limit.
STORAGE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG}
)


def from_os_error(exc: OSError, *, path: str | None = None) -> HarnessError:
    """The one-line `HarnessError` for an `OSError`: exit 2 for a wrong path, else 3.

    Only the path (the error's own, else `path`) and the system's reason are
    kept: no library detail appended.
    """
    where = exc.filename if isinstance(exc.filename, str) else path
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in _PATH_ERRNOS:
        return HarnessError(reason if where is None else f"{where}: {reason}")
    return StorageError(reason, path=where)
