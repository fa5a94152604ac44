"""Where a webhook may point: the one home of that question, asked when a webhook is added and again
at every delivery. A URL's host is resolved once (socket.getaddrinfo: what the connection would use,
so odd spellings such as `2130706433`, `0x7f.1` or `127.1` are judged by what the resolver makes of
them, not by how a URL parser reads them), and every address it resolves to must be publicly routable
or inside PORTAL_NOTIFICATIONS_ALLOWED_NETWORKS. The delivery then connects to the address checked here
(see delivery.py), so a name cannot resolve to something else between the check and the connection."""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# A receiver listens on a web port or an unprivileged one. The other privileged ports are other
# protocols' (SMTP 25, SSH 22, LDAP 389, ...): a signed JSON POST has nothing to say to them, and
# a port allowed there would let the portal knock on mail and directory servers on anyone's behalf.
WEB_PORTS = frozenset({80, 443})
UNPRIVILEGED_PORTS = range(1024, 65536)

# IPv6 forms that carry an IPv4 address which is where the packets really end up.
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: a site's own translator, never public
TEREDO = ipaddress.IPv6Network("2001::/32")  # the client address is obfuscated; no receiver needs Teredo

# IANA's special-purpose blocks that are not globally reachable, written out because Python's own
# tables (is_private, is_global) have changed between patch releases (3.11.7 counts 192.0.0.8 global).
NOT_GLOBAL = tuple(
    ipaddress.ip_network(block)
    for block in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/8",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )  # fmt: skip
)


@dataclass(frozen=True)
class Refusal:
    """Why the portal will not send to a URL: a stable code and a sentence for the person who typed it."""

    code: str
    message: str


class TargetRefused(Exception):
    def __init__(self, refusal: Refusal):
        super().__init__(refusal.message)
        self.refusal = refusal


class Unresolvable(Exception):
    """The name does not resolve now: at registration a refusal, at delivery an unreachable receiver."""


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to `addresses` (in order), speak to `host` (Host header, TLS SNI and the
    certificate's name)."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def parse_networks(value: str) -> tuple:
    """PORTAL_NOTIFICATIONS_ALLOWED_NETWORKS: comma-separated CIDRs (or single addresses). Raises
    ValueError naming the entry that is not one, so that the portal refuses to start with it."""
    networks = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=True))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not a network in CIDR form such as 10.20.0.0/16 or fd00::/8 ({exc}).") from None
    return tuple(networks)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, where it stands for one."""
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def kind_of(address: IPAddress) -> str | None:
    """What makes an address internal ("a loopback address"), or None for a publicly routable one."""
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata services live there)"
    if address.is_multicast:
        return "a multicast address"
    if address.version == 6 and (address in NAT64_LOCAL_USE or address in TEREDO):
        return "an IPv6 transition address that hides where it leads"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global or any(address in block for block in NOT_GLOBAL if block.version == address.version):
        return "an address that is not publicly routable"
    return None


def allowed(address: IPAddress, networks) -> bool:
    inner = embedded_ipv4(address)
    return any(address in net or (inner is not None and inner in net) for net in networks)


def address_refusal(address: IPAddress, networks=None) -> str | None:
    """None if the portal may connect to `address`, else why not (a phrase)."""
    networks = settings.NOTIFICATIONS_ALLOWED_NETWORKS if networks is None else networks
    if allowed(address, networks):
        return None
    inner = embedded_ipv4(address)
    if inner is not None:
        # Judged by where it leads: ::ffff:127.0.0.1 is loopback, and a DNS64 answer for a public
        # name (64:ff9b::5db8:d70e) is as public as the IPv4 address it carries.
        kind = kind_of(inner)
        return None if kind is None else f"an IPv6 form of {kind}"
    return kind_of(address)


def split(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL without credentials; raises TargetRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused(Refusal("invalid_url", "Enter a valid URL (the port must be a number from 1 to 65535).")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(Refusal("invalid_url", "Enter a valid URL: http:// or https:// and a host name."))
    if parts.username is not None or parts.password is not None:
        raise TargetRefused(Refusal("credentials", "A webhook URL must not carry credentials (user:password@); the signature authenticates the portal."))
    try:
        # One spelling for the resolver, the Host header and the certificate's name: IDNA (ASCII).
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise TargetRefused(Refusal("invalid_url", "Enter a valid URL: the host name is not a valid domain name.")) from None
    port = port if port is not None else (443 if parts.scheme == "https" else 80)
    if port not in WEB_PORTS and port not in UNPRIVILEGED_PORTS:
        raise TargetRefused(Refusal("port", f"Port {port} is not one a webhook may use: 80, 443 or 1024-65535 (other low ports are other protocols')."))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, host, port, path


def resolve(host: str, port: int) -> tuple[str, ...]:
    """Every address the system resolver gives for host (an IP literal in any spelling it accepts
    comes back as itself), in the resolver's order, without repeats."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(host) from exc
    addresses = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        address = sockaddr[0].split("%", 1)[0]  # a scope id (fe80::1%eth0) is no part of the address
        if address not in addresses:
            addresses.append(address)
    return tuple(addresses)


def check(url: str) -> Target:
    """The URL as a Target whose every address may be reached; raises TargetRefused (with why) or
    Unresolvable. The one check, for the page, the model, the API and the delivery alike."""
    scheme, host, port, path = split(url)
    addresses = resolve(host, port)
    for text in addresses:
        why = address_refusal(ipaddress.ip_address(text))
        if why is not None:
            literal = host_is_literal(host)
            # For a name, say what it resolves to in kind only: the address itself would let anyone who
            # may add a webhook read the portal's internal DNS.
            shown = f"{host} is {why}" if literal else f"{host} resolves to {why}"
            raise TargetRefused(
                Refusal("address_not_allowed", f"{shown}; the portal sends webhooks only to public addresses (or to networks an admin allowed).")
            )
    return Target(scheme, host, port, path, addresses)


def host_is_literal(host: str) -> bool:
    """An IP address in any spelling the resolver takes as one (127.1, 0x7f.1, 2130706433, ::1)."""
    try:
        socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        return False
    return True
