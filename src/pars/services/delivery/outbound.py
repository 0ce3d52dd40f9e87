"""Where PARS may send a partner's webhooks, and the HTTP client that sends only there.

A webhook URL is typed by a privacy officer, so it must not turn PARS into a way into the
networks behind it (server-side request forgery): loopback, link-local, private (RFC 1918, ULA),
shared (CGNAT 100.64/10), unspecified, multicast and reserved addresses are refused, and so are
the cloud metadata services, by name and by address. Only https leaves. An operator can allow a
host by name, or a network by CIDR, in `PARS_WEBHOOK_ALLOWLIST` (a receiver inside the agency's
own network, or a test's local receiver); an allowed host may also use plain http.

The check runs when the URL is registered (a 422 naming `/webhook_url`) and again at every send,
on the addresses the name resolves to then (a name can be re-pointed after registration: DNS
rebinding). The connection goes to one of the addresses just checked, never to a second look-up,
while the `Host` header, TLS SNI and certificate check keep the URL's name. Redirects are never
followed: a 3xx answer is a failed try like any other non-2xx.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from pars.domain.errors import InvalidInput

__all__ = [
    "Allowlist",
    "Refused",
    "Resolve",
    "Target",
    "check_url",
    "check_webhook_url",
    "post",
    "system_resolve",
]

Resolve = Callable[[str, int], Sequence[str]]
"""(host, port) -> the IP addresses the host resolves to now; OSError if it does not resolve."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata services: the names, and the addresses not already refused as link-local
# (AWS's IPv6 endpoint sits in the ULA range, refused as private; listed so it is named).
_METADATA_NAMES = frozenset({"metadata.google.internal", "metadata", "instance-data"})
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(OSError):
    """A target PARS will not connect to. An OSError, so a send refused at the last moment is a
    failed try (retried, then a dead letter), like a refused connection."""


def system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Allowlist:
    """Hosts (exact names, case-insensitive) and networks the operator allows."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> Allowlist:
        """From `PARS_WEBHOOK_ALLOWLIST`: comma-separated host names, addresses and CIDRs.
        ValueError names an entry that is neither."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in (text or "").split(","):
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            labels = entry.split(".")
            if not all(0 < len(x) <= 63 and x.replace("-", "").isalnum() for x in labels):
                raise ValueError(f"{raw.strip()!r} is neither a host name nor an address or CIDR")
            hosts.add(entry)
        return cls(frozenset(hosts), tuple(networks))

    def names(self, host: str) -> bool:
        return host in self.hosts

    def covers(self, address: IPAddress) -> bool:
        return any(address in n for n in self.networks if n.version == address.version)


@dataclass(frozen=True)
class Target:
    """A URL that passed the check, with the addresses it was checked on (connect to these)."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def _address(text: str) -> IPAddress:
    address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone index is not part of it
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _kind(address: IPAddress) -> str | None:
    """Why PARS will not connect to `address`, in words; None if it is a public address."""
    if address in _METADATA_ADDRESSES:
        return "a cloud metadata service"
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "shared (CGNAT)"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "non-public"),
    )
    for applies, kind in checks:
        if applies:
            return f"a {kind} address"
    return None


def check_url(url: str, allow: Allowlist, resolve: Resolve, resolve_allowed: bool = True) -> Target:
    """`url` as a target PARS may connect to now, with its checked addresses; Refused says why
    not, in words that do not repeat the URL. A host the allow-list names is not looked up
    unless `resolve_allowed` (to connect): its name may resolve only where the relay runs."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise Refused("not a valid URL") from e
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused("must be an https URL")
    if parts.username is not None or parts.password is not None:
        raise Refused("must not carry a user name or password")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise Refused("must name a host")
    port = port or (443 if scheme == "https" else 80)
    named = allow.names(host)
    if not named and (
        host in _METADATA_NAMES or host == "localhost" or host.endswith(".localhost")
    ):
        raise Refused("names a local or metadata host")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if named and not resolve_allowed:
        return Target(scheme, host, port, path, ())
    try:
        addresses = tuple(resolve(host, port))
    except OSError as e:
        raise Refused("the host does not resolve") from e
    if not addresses:
        raise Refused("the host does not resolve")
    allowed = named
    if not named:
        try:
            checked = [_address(a) for a in addresses]
        except ValueError as e:
            raise Refused("the host resolves to something that is not an address") from e
        for address in checked:
            kind = None if allow.covers(address) else _kind(address)
            if kind is not None:
                raise Refused(f"the host resolves to {kind}")
        allowed = all(allow.covers(a) for a in checked)
    if scheme != "https" and not allowed:
        raise Refused("must be an https URL")
    return Target(scheme, host, port, path, addresses)


def check_webhook_url(url: str, allowlist: str | None, resolve: Resolve) -> None:
    """Refuse a webhook URL PARS would not send to, with a 422 naming the field."""
    try:
        check_url(url, Allowlist.parse(allowlist), resolve, resolve_allowed=False)
    except Refused as e:
        raise InvalidInput.one(
            "/webhook_url",
            f"{e}: a webhook must be https to a public address, unless the operator's "
            "PARS_WEBHOOK_ALLOWLIST names the host",
        ) from None


class _Pinned(http.client.HTTPConnection):
    """An HTTP(S) connection to one given address, speaking to the URL's host name: the Host
    header, SNI and the certificate check use the name; the socket goes to the address."""

    def __init__(
        self, target: Target, address: str, timeout: float, tls: ssl.SSLContext | None
    ) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.default_port = 443 if tls else 80  # so that Host carries no default port
        self._pinned = address
        self._tls = tls

    def connect(self) -> None:
        sock = socket.create_connection((self._pinned, self.port), self.timeout)
        if self._tls is not None:
            try:
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        self.sock = sock


def post(
    url: str,
    headers: dict[str, str],
    body: bytes,
    timeout: float,
    *,
    allow: Allowlist,
    resolve: Resolve = system_resolve,
    tls: ssl.SSLContext | None = None,
) -> int:
    """POST `body` to `url` if it passes the check now, on one of the addresses checked, and
    return the status code (a redirect is returned, not followed). OSError (Refused among
    them) when it may not go, or on a network failure or timeout."""
    target = check_url(url, allow, resolve)
    context = (tls or ssl.create_default_context()) if target.scheme == "https" else None
    error: OSError = Refused("no address to connect to")
    for address in target.addresses:
        conn = _Pinned(target, address, timeout, context)
        try:
            conn.request("POST", target.path, body=body, headers=headers)
            return int(conn.getresponse().status)
        except http.client.HTTPException as e:  # a malformed answer: a failed try
            raise OSError(f"bad HTTP answer ({type(e).__name__})") from e
        except ConnectionRefusedError as e:
            error = e  # nothing was sent: the next checked address, if the name has more
        finally:
            conn.close()
    raise error
