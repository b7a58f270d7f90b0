"""The embedded default: a PostgreSQL server that `etl` starts and owns.

Binaries come from the `pgserver` wheel (PostgreSQL 16, a dependency, so a fresh
machine needs no server install) or from a local PostgreSQL install; `ETL_PG_BIN`
picks a directory explicitly. We drive initdb/pg_ctl ourselves rather than through
pgserver's Python API: run as root, that API creates OS users and loosens parent
directory permissions on its own. PostgreSQL refuses to run as root, so when etl
runs as root the server runs as an existing unprivileged OS user (`ETL_PG_OS_USER`,
default `postgres` when it exists, else `nobody`), and etl says so in its log.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import pwd
import shutil
import socket
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from etl.errors import WarehouseError

log = logging.getLogger(__name__)

SUPERUSER = "etl"
DATABASE = "etl"

# Memory and WAL settings sized for a 2-core / 24 GiB analytics box; bulk loads and
# dbt table builds are the workload, not many small transactions.
_SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "shared_buffers": "'512MB'",
    "work_mem": "'64MB'",
    "maintenance_work_mem": "'512MB'",
    "max_wal_size": "'4GB'",
    "checkpoint_timeout": "'15min'",
    "wal_level": "'minimal'",
    "max_wal_senders": "0",
    "max_connections": "100",
}

# Given at every start, so that a server initialised by an earlier release gets them too:
# landing commits a large unit's second COPY connection in two phases
# (etl/second_stream.py).
_START_SETTINGS = {"max_prepared_transactions": "4"}

# A throwaway test server trades durability for speed.
_THROWAWAY_SETTINGS = {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off"}


def _is_root() -> bool:
    return os.geteuid() == 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _candidate_bin_dirs() -> list[Path]:
    candidates: list[Path] = []
    spec = importlib.util.find_spec("pgserver")
    if spec and spec.submodule_search_locations:
        candidates.append(Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin")
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(debian)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    return [c for c in candidates if (c / "pg_ctl").is_file() and (c / "initdb").is_file()]


def default_os_user() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise WarehouseError(
        "etl runs as root and no unprivileged OS user was found to run PostgreSQL; "
        "set ETL_PG_OS_USER to one"
    )


@dataclass
class EmbeddedPostgres:
    """One server: data in `root/data`, socket in `root/run`, state in `root/server.json`."""

    root: Path
    os_user: str | None = None
    bin_dir: Path | None = None
    throwaway: bool = False

    def __post_init__(self) -> None:
        self.root = Path(self.root).absolute()
        if _is_root() and self.os_user is None:
            self.os_user = default_os_user()
        if not _is_root():
            self.os_user = None

    # -- paths and state ---------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def _state_file(self) -> Path:
        return self.root / "server.json"

    def _state(self) -> dict[str, object]:
        if self._state_file.exists():
            return dict(json.loads(self._state_file.read_text()))
        return {}

    def _save_state(self, **values: object) -> None:
        state = self._state() | values
        self._state_file.write_text(json.dumps(state, indent=2, default=str))

    @property
    def port(self) -> int:
        port = self._state().get("port")
        if not isinstance(port, int):
            raise WarehouseError(f"embedded PostgreSQL in {self.root} is not initialised")
        return port

    def url(self, database: str = DATABASE, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    # -- binaries ------------------------------------------------------------------------
    def _resolve_bin_dir(self) -> Path:
        if self.bin_dir is not None:
            if not (Path(self.bin_dir) / "pg_ctl").is_file():
                raise WarehouseError(f"no pg_ctl in {self.bin_dir} (ETL_PG_BIN)")
            return Path(self.bin_dir)
        saved = self._state().get("bin_dir")
        if isinstance(saved, str) and (Path(saved) / "pg_ctl").is_file():
            return Path(saved)
        for candidate in _candidate_bin_dirs():
            if self._can_run(candidate):
                return candidate
        raise WarehouseError(
            "no usable PostgreSQL binaries: install the `pgserver` package, a PostgreSQL "
            "server package, or set ETL_PG_BIN; or point DATABASE_URL at a running server"
        )

    def _can_run(self, bin_dir: Path) -> bool:
        try:
            out = self._run([str(bin_dir / "postgres"), "--version"], check=False)
        except OSError:
            return False
        return out.returncode == 0

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self.os_user:
            kwargs = {"user": self.os_user, "group": pwd.getpwnam(self.os_user).pw_gid}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        result = subprocess.run(
            args, capture_output=True, text=True, check=False, env=env, cwd="/", **kwargs
        )
        if check and result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            raise WarehouseError(
                f"{Path(args[0]).name} failed for the embedded server in {self.root}: "
                + " | ".join(tail)
            )
        return result

    # -- lifecycle ------------------------------------------------------------------------
    def _prepare_dirs(self) -> None:
        for path in (self.root, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
        if self.os_user:
            entry = pwd.getpwnam(self.os_user)
            self._check_reachable_by(self.root, self.os_user)
            for path in (self.root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            if not self.log_file.exists():
                self.log_file.touch()
            os.chown(self.log_file, entry.pw_uid, entry.pw_gid)

    @staticmethod
    def _check_reachable_by(path: Path, os_user: str) -> None:
        """The server's OS user must be able to traverse every parent of its directory."""
        uid = pwd.getpwnam(os_user).pw_uid
        for parent in path.parents:
            mode = parent.stat()
            if mode.st_uid == uid:
                continue
            if not mode.st_mode & stat.S_IXOTH:
                raise WarehouseError(
                    f"the embedded PostgreSQL runs as OS user {os_user!r}, which cannot reach "
                    f"{path} because {parent} is closed to it; choose another ETL_HOME"
                )

    def init(self) -> bool:
        """Create the cluster once; returns False when it already existed."""
        if self.initialized:
            return False
        self._prepare_dirs()
        bin_dir = self._resolve_bin_dir()
        if self.os_user:
            log.warning(
                "running as root: the embedded PostgreSQL runs as OS user %r", self.os_user
            )
        self._run([
            str(bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
            "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions",
        ])
        settings = _SERVER_SETTINGS | (_THROWAWAY_SETTINGS if self.throwaway else {})
        conf = "\n".join(f"{key} = {value}" for key, value in settings.items())
        with (self.data_dir / "postgresql.auto.conf").open("a") as handle:
            handle.write("\n# written by etl (embedded default)\n" + conf + "\n")
        self._save_state(bin_dir=str(bin_dir), port=_free_port(), os_user=self.os_user)
        return True

    def running(self) -> bool:
        if not self.initialized:
            return False
        bin_dir = self._resolve_bin_dir()
        return self._run([str(bin_dir / "pg_ctl"), "status", "-D", str(self.data_dir)],
                         check=False).returncode == 0

    def start(self) -> bool:
        """Start the server (initialising it first); returns False when it was running."""
        self.init()
        if self.running():
            return False
        self._prepare_dirs()
        if _port_in_use(self.port):
            self._save_state(port=_free_port())
        bin_dir = self._resolve_bin_dir()
        options = f"-p {self.port} -k {self.socket_dir}" + "".join(
            f" -c {key}={value}" for key, value in _START_SETTINGS.items())
        self._run([
            str(bin_dir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data_dir),
            "-l", str(self.log_file), "-o", options,
        ])
        self._ensure_database(bin_dir)
        return True

    def _ensure_database(self, bin_dir: Path) -> None:
        psql = [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER,
                "-d", "postgres", "-tAc"]
        exists = self._run([*psql, f"select 1 from pg_database where datname = '{DATABASE}'"])
        if exists.stdout.strip() != "1":
            self._run([*psql, f"create database {DATABASE}"])

    def stop(self) -> bool:
        if not self.running():
            return False
        bin_dir = self._resolve_bin_dir()
        self._run([str(bin_dir / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data_dir)])
        return True

    def destroy(self) -> None:
        """Stop and delete everything (used for throwaway test servers)."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def status(self) -> dict[str, object]:
        state = self._state()
        return {
            "root": str(self.root),
            "initialized": self.initialized,
            "running": self.running(),
            "port": state.get("port"),
            "binaries": state.get("bin_dir"),
            "os_user": state.get("os_user"),
        }
