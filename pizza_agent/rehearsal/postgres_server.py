"""A real PostgreSQL server in a temporary directory, for the tests and the failover drill.

Debian's `postgresql` package (installed by `scripts/ensure-postgresql`, which
`make test` runs) provides initdb and postgres; this starts one on a free
loopback port with trust authentication, in a directory that is removed
afterwards. PostgreSQL refuses to run as root: as root it runs as `nobody`.

    with TemporaryPostgres() as pg:
        url = pg.database("ledger_test")   # postgresql://pizza@127.0.0.1:PORT/ledger_test
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from pizza_agent.rehearsal.agent_process import free_port

START_DEADLINE_SECONDS = 30.0


def postgres_bin() -> Path:
    """The directory of initdb and postgres (Debian: /usr/lib/postgresql/<version>/bin)."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("PostgreSQL is not installed: `make test` installs it (apt-get install postgresql)")


class TemporaryPostgres:
    def __init__(self, *, fsync: bool = False) -> None:
        """`fsync`: as in production (benchmarks); off for tests, whose data dies with the server."""
        self.fsync = fsync
        self.port = free_port()
        self.user = "pizza"
        self._tmp = tempfile.mkdtemp(prefix="pizza-pg-")
        self.data = Path(self._tmp) / "data"
        self.socket_dir = Path(self._tmp) / "socket"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(self._tmp) / "postgres.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def _demote(self) -> tuple[int, int] | None:
        if os.geteuid() != 0:
            return None
        nobody = pwd.getpwnam("nobody")
        for path in (Path(self._tmp), self.socket_dir):
            path.mkdir(exist_ok=True)
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        return nobody.pw_uid, nobody.pw_gid

    def start(self) -> TemporaryPostgres:
        bindir = postgres_bin()
        self.socket_dir.mkdir(exist_ok=True)
        ids = self._demote()

        def as_unprivileged() -> None:
            if ids is not None:
                os.setgid(ids[1])
                os.setuid(ids[0])

        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            preexec_fn=as_unprivileged,
            env=env,
        )
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    str(bindir / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.socket_dir),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"fsync={'on' if self.fsync else 'off'}",
                    "-c",
                    "max_connections=200",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=as_unprivileged,
                env=env,
            )
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while True:
            try:
                psycopg.connect(self.admin_url, connect_timeout=2).close()
                return self
            except psycopg.OperationalError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("PostgreSQL did not start:\n" + self.log.read_text()) from None
                time.sleep(0.05)  # polling for readiness, with a deadline

    def database(self, name: str) -> str:
        """A fresh, empty database; its URL."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # smart shutdown is SIGTERM; fast is SIGINT
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> TemporaryPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
