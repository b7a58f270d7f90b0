"""One exception type per kind of user-facing failure; cli.py maps each to an exit code."""


class EtlError(Exception):
    """Base for failures a user can act on. The message is shown as is."""

    exit_code = 1


class ConfigError(EtlError):
    """Settings are missing or contradict each other."""

    exit_code = 2


class BadInputError(EtlError):
    """An input file is malformed; the message names the file, line or segment, and field."""

    exit_code = 3


class GateRejectedError(EtlError):
    """A quality gate rejected a load or a build."""

    exit_code = 4

    def __init__(self, message: str, run_id: int | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id


class LockHeldError(EtlError):
    """Another run holds the warehouse lock."""

    exit_code = 5


class WarehouseError(EtlError):
    """The warehouse could not be reached, started or changed."""

    exit_code = 6
