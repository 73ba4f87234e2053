"""`bwdesk send --attach PATH`: local files checked as the window checks them, uploaded with the Media API,
sent as links — and nothing uploaded or sent when a file is wrong, nothing sent when an upload fails.

Against real servers on 127.0.0.1: the sandbox (which implements the media API) and the fault server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from faultserver import FaultServer, Reply, accepted, bandwidth_error, drop
from test_cli import rows, run, use_account

from bwdesk.cli import EXIT_UPLOAD_FAILED
from bwdesk.core.attachments import MAX_ATTACHMENT_BYTES, allowed_types_text
from bwdesk.sandbox import Sandbox

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n" + b"0" * 500


@pytest.fixture
def on_sandbox(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> Sandbox:
    use_account(
        monkeypatch,
        sandbox.api_base,
        sandbox.account_id,
        BW_USERNAME=sandbox.username,
        BW_PASSWORD=sandbox.password,
        BW_MESSAGING_APPLICATION_ID=sandbox.application_id,
        BW_NUMBER=sandbox.numbers[0],
    )
    return sandbox


@pytest.fixture
def fault_server(monkeypatch: pytest.MonkeyPatch) -> FaultServer:
    with FaultServer() as server:
        use_account(monkeypatch, server.api_base)
        yield server  # type: ignore[misc]


def media_id(url: str, sandbox: Sandbox) -> str:
    prefix = f"{sandbox.api_base}/users/{sandbox.account_id}/media/"
    assert url.startswith(prefix), url
    return url.removeprefix(prefix)


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# --- it works --------------------------------------------------------------------------------------------


def test_an_attached_file_is_uploaded_and_its_link_sent(capsys, on_sandbox, tmp_path) -> None:
    photo = write(tmp_path, "Ünit 4 photo.png", PNG)
    status, out, err = run(
        capsys, "send", "--to", "9195550123", "--text", "Your part", "--attach", str(photo)
    )
    assert status == 0, err
    [message] = on_sandbox.accepted_messages()
    [url] = message["media"]
    name = media_id(url, on_sandbox)
    assert name.startswith("bwdesk-") and name.endswith("-Unit-4-photo.png")  # a safe name, as the window's
    stored = on_sandbox.state.get_media(name)
    assert stored is not None and stored.data == PNG and stored.content_type == "image/png"
    assert message["id"] in out
    [row] = rows()
    assert row.media == (url,)


def test_files_and_links_go_together_in_order(capsys, on_sandbox, tmp_path) -> None:
    photo, leaflet = write(tmp_path, "a.png", PNG), write(tmp_path, "leaflet.pdf", PDF)
    link = "https://example.com/map.png"
    status, _, err = run(
        capsys,
        "send",
        "--to",
        "9195550123",
        "--media",
        link,
        "--attach",
        str(photo),
        "--attach",
        str(leaflet),
    )
    assert status == 0, err
    [message] = on_sandbox.accepted_messages()
    assert message["media"][0] == link and len(message["media"]) == 3
    assert on_sandbox.media(media_id(message["media"][2], on_sandbox)) == PDF


def test_the_same_file_twice_is_attached_once_and_said_so(capsys, on_sandbox, tmp_path) -> None:
    photo = write(tmp_path, "a.png", PNG)
    status, _, err = run(
        capsys,
        "send",
        "--to",
        "9195550123",
        "--attach",
        str(photo),
        "--attach",
        str(tmp_path / "." / "a.png"),
    )
    assert status == 0, err
    assert (
        f"bwdesk: warning: attach: {tmp_path / '.' / 'a.png'} is given twice; it goes in the message once"
        in err
    )
    [message] = on_sandbox.accepted_messages()
    assert len(message["media"]) == 1


def test_a_repeated_media_link_is_sent_once_and_said_so(capsys, on_sandbox) -> None:
    link = "https://example.com/map.png"
    status, _, err = run(capsys, "send", "--to", "9195550123", "--media", link, "--media", link)
    assert status == 0, err
    assert f"warning: media: {link} is given twice" in err
    assert on_sandbox.accepted_messages()[0]["media"] == [link]


def test_running_the_same_command_again_is_caught_by_the_duplicate_guard(
    capsys, on_sandbox, tmp_path
) -> None:
    """A file's link comes from its contents, so a retried script does not text the customer twice."""
    photo = write(tmp_path, "a.png", PNG)
    command = ("send", "--to", "9195550123", "--text", "Your part", "--attach", str(photo))
    assert run(capsys, *command)[0] == 0
    status, _, err = run(capsys, *command)
    assert status == 2 and "--send-again" in err and "Nothing was sent" in err
    assert len(on_sandbox.accepted_messages()) == 1
    assert run(capsys, *command, "--send-again")[0] == 0


# --- the window's rules: nothing uploaded, nothing sent ----------------------------------------------------


def refused(capsys, sandbox: Sandbox, *args: str) -> str:
    status, out, err = run(capsys, "send", "--to", "9195550123", "--text", "hi", *args)
    assert status == 2, err
    assert out == "" and err.rstrip().endswith("Nothing was sent.")
    assert sandbox.messages == [] and rows() == []
    assert sandbox.state.list_media(None)[0] == []  # nothing was uploaded either
    return err


def test_every_wrong_file_is_named_with_what_is_wrong(capsys, on_sandbox, tmp_path) -> None:
    good = write(tmp_path, "fine.png", PNG)
    big = write(tmp_path, "scan.pdf", b"%PDF" + bytes(MAX_ATTACHMENT_BYTES))
    program = write(tmp_path, "setup.exe", b"MZ" + bytes(100))
    fake = write(tmp_path, "photo.jpg", b"not an image at all")
    empty = write(tmp_path, "empty.png", b"")
    paths = [good, tmp_path / "gone.png", tmp_path, big, program, fake, empty]
    err = refused(capsys, on_sandbox, *(arg for path in paths for arg in ("--attach", str(path))))
    assert err.splitlines() == [
        "bwdesk: attach: 6 files cannot be sent:",
        "  gone.png: there is no such file; check its name and folder",
        f"  {tmp_path.name} is a folder; attach the files inside it one by one",
        "  scan.pdf is 3,500,004 bytes; MMS attachments can be at most 3,500,000 bytes (3.5 MB)",
        "  setup.exe: this file type (.exe) can't be sent by MMS. " + allowed_types_text(),
        "  photo.jpg is named like a JPEG image but its contents are not an image; it may be damaged or misnamed",
        "  empty.png is empty; there is nothing to send",
        "Nothing was sent.",
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_one_wrong_file_is_one_line(capsys, on_sandbox, tmp_path) -> None:
    pipe = tmp_path / "stream.png"
    os.mkfifo(pipe)
    err = refused(capsys, on_sandbox, "--attach", str(pipe))
    assert err == "bwdesk: attach: stream.png is not a regular file. Nothing was sent.\n"


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no permission bits to take away")
def test_an_unreadable_file_is_named(capsys, on_sandbox, tmp_path) -> None:
    secret = write(tmp_path, "locked.png", PNG)
    secret.chmod(0)
    if os.geteuid() != 0:
        err = refused(capsys, on_sandbox, "--attach", str(secret))
    else:
        # Root reads any file; run as root without its capabilities (as CI does), an owner who may not read it.
        assert shutil.which("setpriv"), "setpriv (util-linux) is needed to test this as root"
        result = subprocess.run(
            [
                *(
                    "setpriv",
                    "--bounding-set=-all",
                    "--inh-caps=-all",
                    sys.executable,
                    "-m",
                    "bwdesk",
                    "send",
                ),
                *("--to", "9195550123", "--text", "hi", "--attach", str(secret)),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2 and result.stdout == "", result.stderr
        assert on_sandbox.messages == [] and rows() == []
        err = result.stderr
    assert err == "bwdesk: attach: locked.png can't be read: permission denied. Nothing was sent.\n"


def test_more_than_ten_media_counting_links_and_files_is_refused_before_uploading(
    capsys, on_sandbox, tmp_path
) -> None:
    links = [arg for n in range(9) for arg in ("--media", f"https://example.com/{n}.png")]
    files = [
        arg for n in range(2) for arg in ("--attach", str(write(tmp_path, f"{n}.png", PNG + bytes([n]))))
    ]
    err = refused(capsys, on_sandbox, *links, *files)
    assert "media: at most 10 media can go in one message, --media links and --attach files together; " in err
    assert "this one has 11" in err


def test_an_invalid_message_uploads_nothing(capsys, on_sandbox, tmp_path) -> None:
    photo = write(tmp_path, "a.png", PNG)
    err = refused(capsys, on_sandbox, "--attach", str(photo), "--to", "12")
    assert "to: " in err


# --- an upload that fails: nothing sent, its own exit status -----------------------------------------------


def test_an_upload_refused_by_the_server_sends_nothing_and_exits_5(capsys, fault_server, tmp_path) -> None:
    photo = write(tmp_path, "a.png", PNG)
    fault_server.script(bandwidth_error(500, "internal-server-error", "Media storage is unavailable"))
    status, out, err = run(capsys, "send", "--to", "9195550123", "--text", "hi", "--attach", str(photo))
    assert status == EXIT_UPLOAD_FAILED == 5
    [put] = fault_server.received("PUT")
    assert put.path.startswith(fault_server.media_list_path + "/bwdesk-") and put.body == PNG
    assert put.headers["content-type"] == "image/png"
    assert fault_server.count("POST", fault_server.messages_path) == 0 and rows() == []
    assert out == ""
    assert err.strip() == (
        "bwdesk: attach: a.png could not be uploaded: HTTP 500: Media storage is unavailable. Nothing was sent; "
        "running the same command again is safe."
    )


def test_refused_credentials_on_upload_say_what_to_check(capsys, fault_server, tmp_path) -> None:
    photo = write(tmp_path, "a.png", PNG)
    fault_server.script(bandwidth_error(401, "unauthorized", "Invalid credentials"))
    status, _, err = run(capsys, "send", "--to", "9195550123", "--attach", str(photo))
    assert status == 5 and fault_server.count("POST") == 0
    assert "HTTP 401" in err and "check BW_USERNAME and BW_PASSWORD" in err


def test_a_connection_dropped_during_the_upload_sends_nothing(capsys, fault_server, tmp_path) -> None:
    photo = write(tmp_path, "a.png", PNG)
    fault_server.script(drop())
    status, _, err = run(capsys, "send", "--to", "9195550123", "--attach", str(photo))
    assert status == 5 and fault_server.count("POST") == 0
    assert "a.png could not be uploaded: " in err and "Nothing was sent" in err


def test_when_the_second_file_fails_nothing_is_sent(capsys, fault_server, tmp_path) -> None:
    first, second = write(tmp_path, "a.png", PNG), write(tmp_path, "b.pdf", PDF)
    fault_server.script(Reply(204), bandwidth_error(503, "service-unavailable", "Try again later"))
    status, _, err = run(
        capsys, "send", "--to", "9195550123", "--attach", str(first), "--attach", str(second)
    )
    assert status == 5
    assert [r.method for r in fault_server.requests] == ["PUT", "PUT"]
    assert "b.pdf could not be uploaded" in err and "a.png" not in err


def test_uploaded_then_sent_through_the_fault_server(capsys, fault_server, tmp_path) -> None:
    photo = write(tmp_path, "a.png", PNG)
    fault_server.script(Reply(204))
    fault_server.on("POST", fault_server.messages_path, accepted())
    status, _, err = run(capsys, "send", "--to", "9195550123", "--attach", str(photo))
    assert status == 0, err
    [put] = fault_server.received("PUT")
    [post] = fault_server.received("POST", fault_server.messages_path)
    assert post.json()["media"] == [f"{fault_server.url}{put.path}"]
