"""The installed bwdesk against a real PostgreSQL with TLS, as a desk would use it: `sslrootcert=system`.

Run by smoke-deb.sh (as root, with the project's virtual environment, after the .deb is installed):

    .venv/bin/python packaging/smoke_team.py [/usr/bin/bwdesk]

A throw-away server (tests/pgserver.py) has a certificate for 127.0.0.1 signed by a throw-away authority. The
installed program runs as an unprivileged user in a private mount namespace in which that authority is the
system's bundle (/etc/ssl/certs/ca-certificates.crt, bind-mounted over for that process alone; the machine's
own file is never touched), with `sslmode=verify-full&sslrootcert=system` in its URL:

1. `bwdesk team init --grant bwdesk_agent` as the administrator, then `bwdesk team status --json` as the
   desk's role: both must work, over TLS, through the system's libpq (the package's Depends).
2. The same status with the machine's real bundle, which does not hold that authority: it must be refused as
   `tls-failed`, so the check in step 1 really went through the system's authorities.

Passwords reach bwdesk through PGPASSWORD in its environment, never an argument. Exits non-zero with the
reason on standard error when anything is not as it should be.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pgserver import ADMIN_USER, AGENT_USER, UNPRIVILEGED_UID, running_server  # noqa: E402

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
#: Runs its arguments with `$0` bind-mounted over the system's bundle, in a mount namespace of its own.
WITH_BUNDLE = 'mount --bind "$0" ' + SYSTEM_BUNDLE + ' && exec "$@"'


def fail(message: str) -> None:
    sys.exit(f"smoke-team: FAILED: {message}")


def run_bwdesk(
    bwdesk: str, args: list[str], env: dict[str, str], bundle: Path | None
) -> subprocess.CompletedProcess[str]:
    """`bwdesk ARGS` as the unprivileged user, with `bundle` as the system's authorities (None: the real ones)."""
    as_user = ["setpriv", f"--reuid={UNPRIVILEGED_UID}", f"--regid={UNPRIVILEGED_UID}", "--clear-groups"]
    command = [*as_user, bwdesk, *args]
    if bundle is not None:
        command = [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            WITH_BUNDLE,
            str(bundle),
            *command,
        ]
    return subprocess.run(command, env=env, cwd="/", capture_output=True, text=True, timeout=120, check=False)


def main(argv: list[str]) -> int:
    bwdesk = argv[0] if argv else "/usr/bin/bwdesk"
    if os.geteuid() != 0:
        fail("run as root (it needs a private mount namespace)")
    if not Path(SYSTEM_BUNDLE).is_file():
        fail(f"{SYSTEM_BUNDLE} is missing (Debian's ca-certificates)")
    home = Path(tempfile.mkdtemp(prefix="bwdesk-smoke-team-"))
    try:
        home.chmod(0o777)
        with running_server() as server:
            database = server.create_database()
            bundle = home / "authority.pem"
            shutil.copyfile(server.ca_file, bundle)
            bundle.chmod(0o644)

            def environment(user: str, password: str) -> dict[str, str]:
                url = server.url(database, user=user, sslmode="verify-full", sslrootcert="system")
                return {
                    "PATH": "/usr/bin:/bin",
                    "HOME": str(home),
                    "LANG": "C.UTF-8",
                    "BWDESK_HOME": str(home / "profile"),
                    "BWDESK_HISTORY_URL": url,
                    "BWDESK_AGENT": "Smoke Test",
                    "PGPASSWORD": password,
                }

            init = run_bwdesk(
                bwdesk,
                ["team", "init", "--grant", AGENT_USER],
                environment(ADMIN_USER, server.admin_password),
                bundle,
            )
            if init.returncode != 0:
                fail(f"team init exited {init.returncode}: {init.stdout}{init.stderr}")
            print(f"smoke-team: team init: {init.stdout.strip().splitlines()[0]}")

            agent = environment(AGENT_USER, server.agent_password)
            status = run_bwdesk(bwdesk, ["team", "status", "--json"], agent, bundle)
            report = _json(status)
            if status.returncode != 0 or not report.get("usable"):
                fail(f"team status exited {status.returncode}: {status.stdout}{status.stderr}")
            if report.get("tls") not in ("TLSv1.2", "TLSv1.3"):
                fail(f"team status reached the server without TLS: {report.get('tls')!r}")
            if not report["url"].endswith("sslmode=verify-full&sslrootcert=system"):
                fail(f"team status used another URL: {report['url']}")
            print(f"smoke-team: team status: usable over {report['tls']}, sslrootcert=system")

            refused = run_bwdesk(bwdesk, ["team", "status", "--json"], agent, None)
            problem = (_json(refused).get("problem") or {}).get("kind")
            if refused.returncode != 4 or problem != "tls-failed":
                fail(
                    "with the machine's own authorities (which do not hold the test's) team status should be "
                    f"refused as tls-failed, got exit {refused.returncode}: {refused.stdout}{refused.stderr}"
                )
            print("smoke-team: an authority the system does not hold is refused (tls-failed)")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    try:
        value = json.loads(result.stdout)
    except ValueError:
        fail(f"not JSON (exit {result.returncode}): {result.stdout}{result.stderr}")
    if not isinstance(value, dict):
        fail(f"not a JSON object: {result.stdout}")
    return value


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
