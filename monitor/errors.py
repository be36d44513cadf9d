"""The error family of the monitor core; the CLI prints ``str(exc)`` as one line.

Messages name the object or field at fault and never carry post text, tokens or passwords.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of errors a user can act on."""

    exit_code = 1


class NotFound(MonitorError):
    """An id or name that does not exist (unknown staff id, unknown source)."""


class Conflict(MonitorError):
    """The request clashes with what is stored (duplicate handle, consent does not cover it)."""


class DatabaseUnavailable(MonitorError):
    """The database cannot be reached or is not migrated; the message masks the password."""


class SecretMissing(MonitorError):
    """A secret the operation needs is not in its environment variable."""


class InvalidInput(MonitorError):
    """Bad input from a file or argument; the message names the file, line or field."""
