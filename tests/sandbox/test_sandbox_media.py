"""Media API: upload/download/delete byte for byte, IDs with slashes, listing with Continuation-Token paging."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests

from bwdesk.sandbox import Sandbox

EVERY_BYTE = bytes(range(256)) * 4 + b"\r\n\x00\r\n"


def test_binary_round_trip(sandbox: Sandbox, session: requests.Session, media_url: str) -> None:
    blob = EVERY_BYTE + os.urandom(1024 * 1024)
    put = session.put(f"{media_url}/photo.jpg", data=blob, headers={"Content-Type": "image/jpeg"}, timeout=10)
    assert put.status_code == 204
    assert put.content == b""
    got = session.get(f"{media_url}/photo.jpg", timeout=10)
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert int(got.headers["Content-Length"]) == len(blob)
    assert got.content == blob
    assert sandbox.media("photo.jpg") == blob


def test_upload_overwrites(session: requests.Session, media_url: str) -> None:
    for data in (b"first", b"second"):
        session.put(f"{media_url}/note.txt", data=data, headers={"Content-Type": "text/plain"}, timeout=10)
    assert session.get(f"{media_url}/note.txt", timeout=10).content == b"second"


def test_media_id_with_slashes_literal_or_encoded(
    sandbox: Sandbox, session: requests.Session, media_url: str
) -> None:
    """Inbound media IDs look like `{messageId}/0/name`; the official SDK sends the slashes as %2F."""
    session.put(
        f"{media_url}/1476207046829/0/bw.png", data=b"png!", headers={"Content-Type": "image/png"}, timeout=10
    )
    assert session.get(f"{media_url}/1476207046829%2F0%2Fbw.png", timeout=10).content == b"png!"
    assert sandbox.media("1476207046829/0/bw.png") == b"png!"
    assert session.delete(f"{media_url}/1476207046829%2F0%2Fbw.png", timeout=10).status_code == 204
    assert session.get(f"{media_url}/1476207046829/0/bw.png", timeout=10).status_code == 404


def test_missing_media_is_404_object_not_found(session: requests.Session, media_url: str) -> None:
    response = session.get(f"{media_url}/nothing.png", timeout=10)
    assert response.status_code == 404
    assert response.json() == {"type": "object-not-found", "description": "The requested media was not found"}


def test_delete_answers_204_even_for_nothing(
    sandbox: Sandbox, session: requests.Session, media_url: str
) -> None:
    session.put(f"{media_url}/a.png", data=b"a", headers={"Content-Type": "image/png"}, timeout=10)
    assert session.delete(f"{media_url}/a.png", timeout=10).status_code == 204
    assert sandbox.media("a.png") is None
    assert session.delete(f"{media_url}/a.png", timeout=10).status_code == 204


@pytest.mark.parametrize("content_type", ["application/octet-stream", "image/x-made-up", None])
def test_unsupported_upload_type_is_415(
    sandbox: Sandbox, session: requests.Session, media_url: str, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = session.put(f"{media_url}/a.bin", data=b"x", headers=headers, timeout=10)
    assert response.status_code == 415
    shown = content_type or "application/octet-stream"
    assert response.json() == {
        "type": "unsupported-content-type",
        "description": f"Content type '{shown}' not supported. Please use a supported media type such as 'image/jpeg'",
    }
    assert sandbox.media("a.bin") is None


def test_too_large_upload_is_refused(sandbox: Sandbox, session: requests.Session, media_url: str) -> None:
    response = session.put(
        f"{media_url}/big.jpg", data=b"\0" * 3_932_161, headers={"Content-Type": "image/jpeg"}, timeout=10
    )
    assert response.status_code == 400
    assert response.json()["type"] == "request-validation"
    assert "3932160" in response.json()["description"]
    assert sandbox.media("big.jpg") is None


def test_cache_control_is_passed_through(session: requests.Session, media_url: str) -> None:
    session.put(
        f"{media_url}/c.png",
        data=b"c",
        headers={"Content-Type": "image/png", "Cache-Control": "no-cache"},
        timeout=10,
    )
    assert session.get(f"{media_url}/c.png", timeout=10).headers["Cache-Control"] == "no-cache"


def test_list_describes_each_file(sandbox: Sandbox, session: requests.Session, media_url: str) -> None:
    session.put(f"{media_url}/b.png", data=b"12345", headers={"Content-Type": "image/png"}, timeout=10)
    session.put(f"{media_url}/a dir/a.txt", data=b"1", headers={"Content-Type": "text/plain"}, timeout=10)
    response = session.get(media_url, timeout=10)
    assert response.status_code == 200
    assert "Continuation-Token" not in response.headers
    assert response.json() == [
        {"content": sandbox.media_base + "a%20dir/a.txt", "contentLength": 1, "mediaName": "a dir/a.txt"},
        {"content": sandbox.media_base + "b.png", "contentLength": 5, "mediaName": "b.png"},
    ]
    # the content URL fetches the file
    assert session.get(response.json()[0]["content"], timeout=10).content == b"1"


@pytest.fixture
def small_pages() -> Iterator[Sandbox]:
    with Sandbox(status_step=0, media_page_size=2) as running:
        yield running


def test_list_pages_with_continuation_token(small_pages: Sandbox) -> None:
    url = f"{small_pages.api_base}/users/{small_pages.account_id}/media"
    with requests.Session() as session:
        session.auth = (small_pages.username, small_pages.password)
        names = [f"file{i}.png" for i in range(5)]
        for name in names:
            session.put(
                f"{url}/{name}", data=name.encode(), headers={"Content-Type": "image/png"}, timeout=10
            )
        pages: list[list[str]] = []
        token: str | None = None
        while True:
            response = session.get(url, headers={"Continuation-Token": token} if token else {}, timeout=10)
            assert response.status_code == 200
            pages.append([m["mediaName"] for m in response.json()])
            token = response.headers.get("Continuation-Token")
            if token is None:
                break
        assert pages == [names[0:2], names[2:4], names[4:5]]
        bogus = session.get(url, headers={"Continuation-Token": "%%%"}, timeout=10)
        assert bogus.status_code == 400
        assert bogus.json() == {
            "type": "request-validation",
            "description": "'Continuation-Token' is not a token this API gave out",
        }
