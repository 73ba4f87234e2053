"""Rows left `sending`: a dead owner's become `unknown`, a live one's are left alone; SIGKILL mid-send; threads."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import bwdesk
from bwdesk.core.history.owner import INTERRUPTED_DESCRIPTION, owner_alive, process_start
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.outcome import SendResult, SendState
from bwdesk.core.paths import history_file

REPO = Path(bwdesk.__file__).resolve().parents[1]

# A child process that records a row, says so on stdout, then does what argv[2] says:
#   wait  - block until its stdin closes, then exit without settling (a live `bwdesk send`, then a dead one)
#   post  - POST to the URL in argv[3], which never answers (a send waiting on a slow server)
CHILD = textwrap.dedent(
    """
    import sys
    from bwdesk.core.history.sqlite_store import SqliteHistoryStore
    store = SqliteHistoryStore.open(sys.argv[1])
    row = store.record_sending("+19195550100", ["+19195550123"], "separate", "on its way", [], "T-1", 1)
    print(row, flush=True)
    if sys.argv[2] == "wait":
        sys.stdin.read()
    else:
        import requests
        requests.post(sys.argv[3], json={"to": ["+19195550123"]}, timeout=600)
    """
)


def spawn(path: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    line = child.stdout.readline()  # the row is committed once this line arrives
    assert line.strip().isdigit(), f"child said {line!r}"
    return child, int(line)


@pytest.fixture
def path(profile: Path) -> Path:
    return history_file(profile)


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """A loopback server that accepts a connection and reads the request but never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    yield server
    server.close()


def test_a_live_owner_is_left_alone_and_a_dead_one_becomes_unknown(path: Path) -> None:
    SqliteHistoryStore.open(path).close()
    child, row_id = spawn(path, "wait")
    try:
        with SqliteHistoryStore.open(path) as store:
            assert store.recover_interrupted() == 0  # a running `bwdesk send`: not disturbed
            assert store.get(row_id).state is SendState.SENDING  # type: ignore[union-attr]
    finally:
        child.communicate("")  # close its stdin: it exits without settling
    assert child.returncode == 0
    with SqliteHistoryStore.open(path) as store:
        assert store.recover_interrupted() == 1
        row = store.get(row_id)
        assert row is not None and row.state is SendState.UNKNOWN
        assert row.error is not None and row.error.description == INTERRUPTED_DESCRIPTION
        assert store.recover_interrupted() == 0


def test_sigkill_during_a_send_to_a_silent_server_leaves_a_row_that_reads_unknown(
    path: Path, silent_server: socket.socket
) -> None:
    host, port = silent_server.getsockname()[:2]
    child, row_id = spawn(path, "post", f"http://{host}:{port}/api/v2/users/1/messages")
    try:
        connection, _ = silent_server.accept()
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:  # the POST has left the child: its outcome is now unknowable
                chunk = connection.recv(4096)
                assert chunk, "the child closed the connection"
                request += chunk
            assert request.startswith(b"POST /api/v2/users/1/messages")
            child.kill()  # SIGKILL on POSIX: no handler, no cleanup, no settle
            child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        assert child.stdin is not None and child.stdout is not None
        child.stdin.close()
        child.stdout.close()
    assert child.returncode != 0

    with SqliteHistoryStore.open(path) as store:
        assert store.get(row_id).state is SendState.SENDING  # type: ignore[union-attr]
        assert store.recover_interrupted() == 1
        row = store.get(row_id)
        assert row is not None and row.state is SendState.UNKNOWN
        assert row.to_json()["state"] == "unknown"
        assert [r.id for r in store.search(HistoryQuery(state=SendState.UNKNOWN))] == [row_id]


def test_this_process_rows_are_never_recovered(path: Path) -> None:
    with SqliteHistoryStore.open(path) as store:
        row_id = store.record_sending("+19195550100", ["+19195550123"], "separate", "x")
        assert store.recover_interrupted() == 0
        assert store.get(row_id).state is SendState.SENDING  # type: ignore[union-attr]


def test_a_recycled_pid_is_not_the_owner(path: Path) -> None:
    """Same pid, different start identity (the pid was reused by an unrelated process)."""
    pid = os.getpid()
    assert owner_alive(pid, process_start(pid))
    assert not owner_alive(pid, "linux:some-other-boot:12345")
    assert not owner_alive(2**22 + 12345, None)  # no such process at all
    assert owner_alive(os.getppid(), None)  # start unknown: a running pid counts
    with SqliteHistoryStore.open(path) as store:
        row_id = store.record_sending("+19195550100", ["+19195550123"], "separate", "x")
        with store._write("test") as conn:
            conn.execute("UPDATE history SET owner_start = 'ps:an older process' WHERE id = ?", (row_id,))
        assert store.recover_interrupted() == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_an_unreaped_zombie_is_not_running() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # wait for it to end, without reaping it
        start = process_start(child.pid)
    finally:
        child.wait()
    assert start is None


def test_rows_recorded_where_the_start_time_was_unknown_fall_back_to_the_pid(path: Path) -> None:
    with SqliteHistoryStore.open(path) as store:
        row_id = store.record_sending("+19195550100", ["+19195550123"], "separate", "x")
        with store._write("test") as conn:
            conn.execute(
                "UPDATE history SET owner_pid = ?, owner_start = NULL WHERE id = ?", (2**22 + 7, row_id)
            )
        assert store.recover_interrupted() == 1


def test_several_threads_record_and_settle_at_once(path: Path) -> None:
    threads_n, per_thread = 8, 30
    errors: list[BaseException] = []
    ids: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads_n + 1)

    with SqliteHistoryStore.open(path) as store:

        def work(n: int) -> None:
            try:
                barrier.wait()
                for i in range(per_thread):
                    number = f"+1919555{n:02d}{i:02d}"
                    row_id = store.record_sending(
                        "+19195550100", [number], "separate", f"thread{n} message{i}"
                    )
                    store.settle(row_id, SendResult(SendState.ACCEPTED, 202, f"m-{n}-{i}", 1))
                    store.search(HistoryQuery(text=f"thread{n}"), limit=5)
                    with lock:
                        ids.append(row_id)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
        for worker in workers:
            worker.start()
        barrier.wait()
        for worker in workers:
            worker.join()

        assert errors == []
        assert len(ids) == len(set(ids)) == threads_n * per_thread
        assert store.count(HistoryQuery(state=SendState.ACCEPTED)) == threads_n * per_thread
        for n in range(threads_n):
            rows = store.search(HistoryQuery(text=f"thread{n}"), limit=100)
            assert len(rows) == per_thread
            assert {r.message_id for r in rows} == {f"m-{n}-{i}" for i in range(per_thread)}
            assert store.search(HistoryQuery(number=f"+1919555{n:02d}07"))[0].message_id == f"m-{n}-7"
