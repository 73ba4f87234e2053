"""The look at a media link (core.media_probe) against a real HTTP server on 127.0.0.1: what it asks (HEAD first,
a ranged GET only when needed), what it reads (never past the cap), where it refuses to go (other schemes, this
computer from a link that was not), what it never sends (credentials, cookies), and what the window then warns."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bwdesk.core.media_info import MediaInfo, SizedMedia, describe_type, link_warnings, size_warnings
from bwdesk.core.media_probe import MAX_REDIRECTS, MediaProbe
from tests.mediaserver import PDF, PNG, MediaServer, Page


@pytest.fixture
def server() -> Iterator[MediaServer]:
    with MediaServer() as running:
        yield running


@pytest.fixture
def probe() -> Iterator[MediaProbe]:
    made = MediaProbe()
    yield made
    made.close()


def test_a_file_head_describes_fully_costs_one_head(server, probe) -> None:
    server.pages["/guide.pdf"] = Page(body=PDF, headers={"Content-Type": "application/pdf"})
    info = probe.probe(f"{server.url}/guide.pdf")
    assert (info.status, info.media_type, info.size, info.image) == (200, "application/pdf", len(PDF), b"")
    assert server.methods("/guide.pdf") == ["HEAD"]
    assert link_warnings(info) == [] and describe_type(info.media_type) == "PDF"


def test_an_image_is_read_once_as_a_range_for_its_thumbnail(server, probe) -> None:
    server.pages["/part.png"] = Page(body=PNG, headers={"Content-Type": "image/png"})
    info = probe.probe(f"{server.url}/part.png")
    assert server.methods("/part.png") == ["HEAD", "GET"]
    get = next(s for s in server.seen if s.method == "GET")
    assert get.headers["range"] == f"bytes=0-{probe.read_cap - 1}"
    assert get.headers["accept-encoding"] == "identity"
    assert (info.sniffed_type, info.size, info.image) == ("image/png", len(PNG), PNG)
    assert describe_type(info.media_type) == "PNG image"


def test_a_refused_head_falls_back_to_a_ranged_get(server, probe) -> None:
    """S3's signed links answer HEAD with 403 (the signature is for GET); others 405."""
    for status in (403, 405):
        server.pages[f"/{status}.pdf"] = Page(
            body=PDF, headers={"Content-Type": "application/pdf"}, head=status
        )
        info = probe.probe(f"{server.url}/{status}.pdf")
        assert (info.status, info.media_type, info.size) == (206, "application/pdf", len(PDF)), status
        assert server.methods(f"/{status}.pdf") == ["HEAD", "GET"]
        assert info.found and link_warnings(info) == []


def test_what_is_read_never_passes_the_cap(server) -> None:
    big = b"\xff\xd8\xff" + b"j" * 50_000
    server.pages["/big.jpg"] = Page(body=big, headers={"Content-Type": "image/jpeg"}, head=405, ranges=False)
    server.pages["/huge.jpg"] = Page(body=big, headers={"Content-Type": "image/jpeg"})
    small = MediaProbe(read_cap=10_000)
    try:
        ignored_range = small.probe(f"{server.url}/big.jpg")  # the server sends it all; the probe stops
        said_too_big = small.probe(f"{server.url}/huge.jpg")
    finally:
        small.close()
    assert (ignored_range.size, ignored_range.image) == (len(big), b"")  # no thumbnail from part of a file
    assert (said_too_big.size, said_too_big.image) == (len(big), b"")
    assert server.methods("/huge.jpg") == ["HEAD"]  # HEAD said it is over the cap: no GET at all


def test_not_found_and_wrong_types_are_warned_with_the_error_bandwidth_would_give(server, probe) -> None:
    server.pages["/page"] = Page(body=b"<html></html>", headers={"Content-Type": "text/html; charset=utf-8"})
    server.pages["/tool.exe"] = Page(
        body=b"MZ" + b"\x00" * 100, headers={"Content-Type": "application/x-msdownload"}
    )
    gone = link_warnings(probe.probe(f"{server.url}/gone.jpg"))
    assert len(gone) == 1 and "404" in gone[0] and "4410" in gone[0]
    assert "web page" in link_warnings(probe.probe(f"{server.url}/page"))[0]
    assert "4412" in link_warnings(probe.probe(f"{server.url}/tool.exe"))[0]
    # A server naming no type: the bytes decide (and are not warned about).
    server.pages["/photo"] = Page(body=PNG, headers={"Content-Type": "application/octet-stream"})
    info = probe.probe(f"{server.url}/photo")
    assert info.media_type == "image/png" and link_warnings(info) == []


def test_redirects_are_followed_by_hand_only_to_web_addresses(server, probe) -> None:
    server.pages["/moved"] = Page(302, headers={"Location": "/part.png"})
    server.pages["/part.png"] = Page(body=PNG, headers={"Content-Type": "image/png"})
    assert probe.probe(f"{server.url}/moved").image == PNG  # a link to this computer may stay here

    server.pages["/to-file"] = Page(302, headers={"Location": "file:///etc/passwd"})
    server.pages["/to-ftp"] = Page(301, headers={"Location": "ftp://example.com/a.png"})
    for path in ("/to-file", "/to-ftp"):
        info = probe.probe(f"{server.url}{path}")
        assert not info.answered and "not followed" in info.problem, path

    server.pages["/loop"] = Page(307, headers={"Location": "/loop"})
    info = probe.probe(f"{server.url}/loop")
    assert f"more than {MAX_REDIRECTS}" in info.problem
    assert len(server.methods("/loop")) == MAX_REDIRECTS + 1


def test_a_public_link_that_resolves_to_this_computer_is_not_fetched(server) -> None:
    names: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        names.append(host)
        return ["127.0.0.1"]

    probe = MediaProbe(resolve=resolve)
    try:
        info = probe.probe(f"http://media.example:{server.url.rsplit(':', 1)[1]}/part.png")
    finally:
        probe.close()
    assert names == ["media.example"]
    assert "this computer" in info.problem and server.seen == []


def test_a_redirect_from_a_public_link_to_this_computer_is_not_followed(server, monkeypatch) -> None:
    """The link is public (reached through a proxy, as on a company network); its answer points at 127.0.0.1."""
    with MediaServer() as proxy:
        proxy.pages["http://media.example/part.png"] = Page(302, headers={"Location": f"{server.url}/secret"})
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "")
        probe = MediaProbe(resolve=lambda host, port: pytest.fail("a proxied name is the proxy's to resolve"))
        try:
            info = probe.probe("http://media.example/part.png")
        finally:
            probe.close()
        assert [s.method for s in proxy.seen] == ["HEAD"]
    assert "this computer" in info.problem
    assert server.seen == []


def test_no_credentials_and_no_cookies_are_ever_sent(server, probe) -> None:
    server.pages["/a.pdf"] = Page(
        body=PDF, headers={"Content-Type": "application/pdf", "Set-Cookie": "session=secret; Path=/"}
    )
    probe.probe(f"{server.url}/a.pdf")
    probe.probe(f"{server.url}/a.pdf")
    assert len(server.seen) == 2
    for seen in server.seen:
        assert "authorization" not in seen.headers and "cookie" not in seen.headers
    port = server.url.rsplit(":", 1)[1]
    info = probe.probe(f"http://agent:hunter2@127.0.0.1:{port}/a.pdf")
    assert "user name or password" in info.problem and len(server.seen) == 2


def test_a_dribbling_server_meets_the_deadline(server) -> None:
    server.pages["/slow.png"] = Page(body=PNG * 20, headers={"Content-Type": "image/png"}, dribble=0.05)
    probe = MediaProbe(deadline=0.5)
    started = time.monotonic()
    try:
        info = probe.probe(f"{server.url}/slow.png")
    finally:
        probe.close()
    assert "within 0.5 s" in info.problem
    assert time.monotonic() - started < 5  # far less than the read timeout times the bytes


def test_a_link_that_cannot_be_reached_says_why(probe) -> None:
    from tests.faultserver import refused_port

    info = probe.probe(f"http://127.0.0.1:{refused_port()}/a.png")
    assert not info.answered and "refused" in info.problem
    assert "Could not be checked" in link_warnings(info)[0]
    assert "only http and https" in probe.probe("ftp://127.0.0.1/a.png").problem


def test_size_warnings_per_file_and_per_message() -> None:
    assert size_warnings([SizedMedia("a.jpg", 400_000), SizedMedia("b", None)]) == []
    over_file = size_warnings([SizedMedia("big.jpg", 3_800_000)])
    assert over_file[0].startswith("big.jpg is 3.8 MB") and "4411" in over_file[0]
    assert "3.75 MB" in over_file[1]  # and, alone, over the total for one message
    carriers = size_warnings([SizedMedia("a.jpg", 600_000), SizedMedia("b.jpg", 600_000)])
    assert len(carriers) == 1 and "1.2 MB" in carriers[0] and "AT&T" in carriers[0]
    toll_free = size_warnings([SizedMedia("a.jpg", 600_000)], toll_free=True)
    assert len(toll_free) == 1 and "525 KB" in toll_free[0]


def test_a_media_info_without_a_server_type_reads_the_link_name() -> None:
    assert MediaInfo("https://example.com/files/photo.JPG?x=1", 200).media_type == "image/jpeg"
    assert MediaInfo("https://example.com/x", 200, "image/jpg").media_type == "image/jpeg"


def test_the_accounts_own_uploads_are_looked_at_with_its_credentials(client, sandbox) -> None:
    """Bandwidth's media store serves uploads only with the account's credentials: the client looks at those
    (a look without them would call a good upload unreachable), and only at those."""
    url = client.upload_media("bwdesk-1234abcd-part.png", PNG, "image/png")
    assert client.owns_media(url) and not client.owns_media("https://example.com/media/part.png")
    info = client.look_at_media(url, 4_000_000)
    assert (info.status, info.size, info.media_type, info.image) == (200, len(PNG), "image/png", PNG)
    looks = [r for r in sandbox.requests.all() if r.path.endswith("/media/bwdesk-1234abcd-part.png")]
    assert [r.method for r in looks] == ["PUT", "HEAD", "GET"]
    assert all(r.headers.get("Authorization", "").startswith("Basic") for r in looks)

    gone = client.look_at_media(client.media_url("bwdesk-00000000-gone.png"), 4_000_000)
    assert gone.status == 404 and "4410" in link_warnings(gone)[0]
    anonymous = MediaProbe()
    try:
        assert anonymous.probe(url).status == 401
    finally:
        anonymous.close()
