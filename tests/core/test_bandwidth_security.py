"""Credentials go only where they belong: never over plain http to another machine, never to another host,
never into a repr, an exception, a result or a log line; TLS is verified with the OS store."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import logging
import socket
import ssl
import threading

import pytest
from faultserver import ACCOUNT_ID, FakeTime, FaultServer, Reply, accepted, drop, refused_port, token

from bwdesk.core.bandwidth import BandwidthClient, Timeouts
from bwdesk.core.credentials import BasicCredentials, OAuth2Credentials
from bwdesk.core.errors import ApiRequestError, ConfigError
from bwdesk.core.outcome import SendState

PASSWORD = "pw-Zq81-never-in-logs"
CLIENT_SECRET = "cs-Zq81-never-in-logs"
BEARER = "bearer-Zq81-never-in-logs"
TEXT = "Private words for the customer only"
PAYLOAD = {"applicationId": "app", "to": ["+19195550123"], "from": "+19195550100", "text": TEXT}


def basic(base: str, **kw) -> BandwidthClient:
    fake = FakeTime()
    kw.setdefault("timeouts", Timeouts(connect=1.0, read=0.3))
    return BandwidthClient(
        base, ACCOUNT_ID, BasicCredentials("api-user", PASSWORD), clock=fake.clock, sleep=fake.sleep, **kw
    )


# --- where credentials may go ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://messaging.bandwidth.com/api/v2", "http://10.0.0.5:8080/api/v2", "http://example.test"]
)
def test_plain_http_to_another_machine_is_refused(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        basic(url)
    assert url in str(caught.value)
    assert "https" in str(caught.value)


def test_plain_http_token_url_to_another_machine_is_refused_for_oauth2() -> None:
    with pytest.raises(ConfigError, match="token URL"):
        BandwidthClient(
            "https://messaging.bandwidth.com/api/v2",
            ACCOUNT_ID,
            OAuth2Credentials("c", CLIENT_SECRET),
            token_url="http://api.bandwidth.com/api/v1/oauth2/token",
        )


@pytest.mark.parametrize(
    "url",
    [
        "https://messaging.bandwidth.com/api/v2",
        "http://127.0.0.1:8080/api/v2",
        "http://127.1.2.3/api/v2",
        "http://localhost:9/api/v2",
        "http://[::1]:9/api/v2",
    ],
)
def test_https_and_loopback_http_are_allowed(url: str) -> None:
    client = basic(url)
    assert client.api_base == url
    client.close()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://user:pw@messaging.bandwidth.com/api/v2", "user name or password"),
        ("ftp://messaging.bandwidth.com/api/v2", "not an http(s) URL"),
        ("messaging.bandwidth.com/api/v2", "not an http(s) URL"),
        ("https://messaging.bandwidth.com/api/v2?x=1", "query"),
    ],
)
def test_odd_base_urls_are_refused_clearly(url: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
        basic(url)


def test_empty_account_or_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="account id"):
        BandwidthClient("https://x.example/api", " ", BasicCredentials("u", "p"))
    with pytest.raises(ConfigError, match="password"):
        BandwidthClient("https://x.example/api", ACCOUNT_ID, BasicCredentials("u", ""))


def test_https_proxy_is_used_and_never_sees_the_credentials(monkeypatch) -> None:
    with FaultServer() as proxy:
        proxy.script(Reply(403, "no", close=True), Reply(403, "no", close=True), Reply(403, "no", close=True))
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        client = basic("https://messaging.bandwidth.com/api/v2")
        result = client.send(PAYLOAD)
        assert result.state is SendState.FAILED  # the proxy refused the tunnel: nothing reached Bandwidth
        connects = proxy.received("CONNECT")
        assert connects and connects[0].target == "messaging.bandwidth.com:443"
        assert all("authorization" not in r.headers for r in proxy.requests)
        assert proxy.count() == len(connects)


def test_loopback_is_never_sent_through_a_proxy(monkeypatch) -> None:
    with FaultServer() as proxy, FaultServer() as api:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("ALL_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        api.on("POST", api.messages_path, accepted())
        assert basic(api.api_base).send(PAYLOAD).state is SendState.ACCEPTED
        assert proxy.count() == 0
        assert api.count("POST") == 1


def test_netrc_does_not_override_the_configured_credentials(tmp_path, monkeypatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login intruder password intruder-pw\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with FaultServer() as api:
        api.on("POST", api.messages_path, accepted())
        basic(api.api_base).send(PAYLOAD)
        sent = api.received("POST")[0].headers["authorization"]
    assert sent == "Basic " + base64.b64encode(f"api-user:{PASSWORD}".encode()).decode()


def test_the_ssl_module_is_not_patched() -> None:
    before = ssl.SSLContext
    basic("https://messaging.bandwidth.com/api/v2").close()
    assert ssl.SSLContext is before
    assert ssl.SSLContext.__module__ == "ssl"


def _self_signed(tmp_path) -> tuple[str, str]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file)


def test_an_untrusted_certificate_fails_without_sending_or_retrying(tmp_path) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    handshakes: list[str] = []

    stop = threading.Event()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if stop.is_set():
                conn.close()
                return
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    handshakes.append("ok")
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                handshakes.append("failed")
            finally:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        result = basic(f"https://127.0.0.1:{port}/api/v2").send(PAYLOAD)
    finally:
        stop.set()
        with socket.create_connection(("127.0.0.1", port)):  # wakes accept()
            pass
        thread.join(timeout=5)
        listener.close()
    assert result.state is SendState.FAILED
    assert "certificate is not trusted" in (result.detail or "")
    assert handshakes == ["failed"]  # one handshake: retrying cannot make the certificate trusted


# --- where secrets must never appear ---------------------------------------------------------------------


def test_repr_never_shows_a_secret() -> None:
    b = basic("https://messaging.bandwidth.com/api/v2")
    o = BandwidthClient(
        "https://messaging.bandwidth.com/api/v2", ACCOUNT_ID, OAuth2Credentials("cid", CLIENT_SECRET)
    )
    for text in (repr(b), str(b), repr(o), repr(b._credentials), repr(o._credentials)):
        assert PASSWORD not in text and CLIENT_SECRET not in text
    assert "api-user" in repr(b) and "cid" in repr(o)


def _assert_clean(text: str) -> None:
    encoded_basic = base64.b64encode(f"api-user:{PASSWORD}".encode()).decode()
    encoded_client = base64.b64encode(f"client-1:{CLIENT_SECRET}".encode()).decode()
    for secret in (PASSWORD, CLIENT_SECRET, BEARER, encoded_basic, encoded_client):
        assert secret not in text


def test_secrets_and_message_text_never_reach_logs_results_or_exceptions(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    with FaultServer() as api:
        api.on("POST", api.token_path, token(BEARER), repeat_last=True)
        echo = {"type": "unauthorized", "description": "placeholder"}

        def echo_auth(request):
            # A hostile or buggy server echoing our Authorization header back in its error.
            return Reply(400, {**echo, "description": f"bad header {request.headers.get('authorization')}"})

        api.on("POST", api.messages_path, accepted(), echo_auth, drop(), repeat_last=True)
        api.on("GET", api.media_list_path, echo_auth)
        basic_client = basic(api.api_base)
        oauth = BandwidthClient(
            api.api_base,
            ACCOUNT_ID,
            OAuth2Credentials("client-1", CLIENT_SECRET),
            token_url=api.token_url,
            timeouts=Timeouts(1.0, 0.3),
        )
        for client in (basic_client, oauth):
            for _ in range(3):
                result = client.send(PAYLOAD)
                seen.append(repr(result))
                if result.error:
                    seen.append(result.error.description)
        with pytest.raises(ApiRequestError) as caught:
            oauth.list_media()
        seen += [str(caught.value), repr(caught.value), caught.value.error.description]
        assert "bad header" in caught.value.error.description and "***" in caught.value.error.description
        dead = basic(f"http://127.0.0.1:{refused_port()}/x")
        seen.append(repr(dead.send(PAYLOAD)))
    log_text = "\n".join(r.getMessage() for r in caplog.records)
    assert "send: accepted" in log_text  # the client does log, just not secrets
    _assert_clean(log_text)
    _assert_clean("\n".join(seen))
    assert TEXT not in log_text
    assert "+19195550123" not in log_text and "%2B19195550123" not in log_text


def test_a_socks_proxy_that_cannot_be_used_is_failed_not_unknown(monkeypatch) -> None:
    # Without PySocks requests refuses socks:// before any connection; with it, nothing listens there.
    monkeypatch.setenv("HTTPS_PROXY", f"socks5://127.0.0.1:{refused_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    result = basic("https://messaging.bandwidth.com/api/v2", max_attempts=1).send(PAYLOAD)
    assert result.state is SendState.FAILED
    assert result.attempts == 0
    assert "proxy" in (result.detail or "")
