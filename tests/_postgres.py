"""A real, throw-away PostgreSQL server on 127.0.0.1 for tests (and for ``.ci/run``).

``python -m tests._postgres start DIR PORT`` initialises a cluster in ``DIR`` (password
authentication, superuser ``paretoul``), starts it and prints its URL; ``stop DIR`` stops it.
PostgreSQL refuses to run as root: as root, the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

USER, PASSWORD = "paretoul", "s3cret-pw"


def pg_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl`` (Debian's layout, or on PATH)."""
    def version(path: str) -> tuple[int, ...]:
        return tuple(int(p) for p in Path(path).parts[-3].split(".") if p.isdigit())

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """One cluster in ``root`` listening on 127.0.0.1:``port``."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = Path(root)
        self.data = self.root / "data"
        self.port = port or free_port()
        self.bin = pg_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (no initdb found)")

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        pwfile.chmod(0o600)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")  # it writes its log and socket here too
            self.data.mkdir(exist_ok=True)
            for p in (self.root, self.data, pwfile):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", USER, "--pwfile", str(pwfile),
                  "--auth=scram-sha-256", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            self.init()
        opts = f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w",
                  "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{db}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"PostgreSQL on port {self.port} did not come up")


def create_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``server_url``; return its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


if __name__ == "__main__":
    action, root = sys.argv[1], Path(sys.argv[2])
    if action == "start":
        server = PgServer(root, int(sys.argv[3]) if len(sys.argv) > 3 else None)
        server.start()
        print(server.url())
    else:
        PgServer(root, 1).stop()
