"""Which URLs a webhook may go to: the check on a URL and the addresses its host resolves to."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

import pytest

from pars.config import Settings
from pars.services.delivery.outbound import Allowlist, Refused, check_url

PUBLIC = "93.184.215.14"


class FakeDNS:
    """Names to addresses, as the test says; an address resolves to itself."""

    def __init__(self, names: dict[str, list[str]] | None = None) -> None:
        self.names = dict(names or {})
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.names[host]


NONE = Allowlist()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://127.9.9.9/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://localhost/hook", "local or metadata host"),
        ("https://api.localhost/hook", "local or metadata host"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://[fd00:ec2::254]/", "metadata"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata host"),
        ("https://169.254.10.1/", "link-local"),
        ("https://[fe80::1]/", "link-local"),
        ("https://10.1.2.3/", "private"),
        ("https://172.16.0.1/", "private"),
        ("https://192.168.1.1/", "private"),
        ("https://[fc00::1]/", "private"),
        ("https://[fd12:3456::1]/", "private"),
        ("https://100.64.0.1/", "CGNAT"),
        ("https://100.127.255.254/", "CGNAT"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://[::]/", "unspecified"),
        ("https://224.0.0.1/", "multicast"),
        ("https://[ff02::1]/", "multicast"),
        ("https://[64:ff9b::7f00:1]/", "loopback"),  # NAT64 of 127.0.0.1
        ("https://inside.partner.example/hook", "private"),  # a public-looking name
        ("https://both.partner.example/hook", "loopback"),  # one bad address of two
        ("http://hooks.partner.example/hook", "https"),
        ("ftp://hooks.partner.example/hook", "https"),
        ("https://user:pw@hooks.partner.example/hook", "user name"),
        ("https://nowhere.partner.example/hook", "does not resolve"),
        ("https:///hook", "host"),
    ],
)
def test_refused(url: str, why: str) -> None:
    dns = FakeDNS(
        {
            "inside.partner.example": ["10.0.0.5"],
            "both.partner.example": [PUBLIC, "127.0.0.1"],
            "hooks.partner.example": [PUBLIC],
        }
    )
    with pytest.raises(Refused, match=why) as refused:
        check_url(url, NONE, dns)
    assert url not in str(refused.value)  # the reason repeats no input


def test_a_public_https_url_passes_with_the_addresses_it_was_checked_on() -> None:
    dns = FakeDNS({"hooks.partner.example": [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    target = check_url("https://Hooks.Partner.Example:8443/in?x=1", NONE, dns)
    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        "hooks.partner.example",
        8443,
        "/in?x=1",
    )
    assert target.addresses == (PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c")


def test_the_allowlist_names_hosts_and_networks() -> None:
    allow = Allowlist.parse("hooks.internal, 10.20.0.0/16 ,127.0.0.1,[::1]")
    dns = FakeDNS({"hooks.internal": ["10.9.9.9"], "ops.agency.example": ["10.20.1.1"]})
    # A named host may be private and plain http; it is not looked up at registration.
    assert check_url("http://hooks.internal/x", allow, dns, resolve_allowed=False).addresses == ()
    assert dns.asked == []
    assert check_url("http://hooks.internal/x", allow, dns).addresses == ("10.9.9.9",)
    # A name whose every address is in an allowed network.
    assert check_url("http://ops.agency.example/x", allow, dns).addresses == ("10.20.1.1",)
    assert check_url("http://127.0.0.1:9/x", allow, dns).port == 9
    assert check_url("http://[::1]:9/x", allow, dns).addresses == ("::1",)
    # Only what it names.
    with pytest.raises(Refused, match="loopback"):
        check_url("https://127.0.0.2/x", allow, dns)
    with pytest.raises(Refused, match="private"):
        check_url("https://10.21.0.1/x", allow, dns)


def test_an_unknown_allowlist_entry_is_an_error_at_start_up() -> None:
    with pytest.raises(ValueError, match="neither a host name"):
        Settings(webhook_allowlist="hooks.internal, http://bad/")
    assert Settings(webhook_allowlist="10.0.0.0/8,hooks.internal").webhook_allowlist
