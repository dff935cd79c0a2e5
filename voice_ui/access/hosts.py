"""Which `Host` names this app answers to, which `Origin`s may open its sockets, and who the client really is.

DNS rebinding: a page on evil.example re-points its name at 127.0.0.1 and then talks to this app as a
same-origin page — its requests carry `Host: evil.example`, so an allow-list of names stops it. The embedded
server is mounted on this very app, so the page's own origin must pass too (it does: it loaded the page).
"""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import ifaddr

LOOPBACK_NAMES = ('localhost', '127.0.0.1', '::1')
WILDCARD_ADDRESSES = {'', '0.0.0.0', '::'}
DEFAULT_PORTS = {'http': 80, 'https': 443, 'ws': 80, 'wss': 443}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def split_host(host: str) -> tuple[str, int | None]:
    """`Host` header value → (lower-case name without brackets, port or None); ValueError if malformed."""
    host = host.strip().lower()
    if not host or any(c in host for c in ' /\\@?#'):
        raise ValueError('malformed host')
    if host.startswith('['):
        name, bracket, rest = host[1:].partition(']')
        if not bracket:
            raise ValueError('malformed host')
        port = rest.removeprefix(':') if rest.startswith(':') else None
        if rest and port is None:
            raise ValueError('malformed host')
    elif host.count(':') == 1:
        name, port = host.split(':')
    else:
        name, port = host, None
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError('malformed port')
    return name.rstrip('.'), int(port) if port else None


def interface_addresses() -> set[str]:
    """IP literals are safe to answer: a DNS-rebinding page always sends its own name, never our address."""
    addresses = set()
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            addresses.add(str(ip.ip) if ip.is_IPv4 else str(ip.ip[0]).split('%')[0].lower())
    return addresses


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES or host.endswith('.localhost'):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HostPolicy:
    """Allowed names: loopback names, the interface we bind (when specific), and `VOICE_UI_ALLOWED_HOSTS`.

    Entries are exact names, `.example.com` / `*.example.com` for subdomains, or `*` for any name.
    """

    def __init__(self, extra: str = '', bind_host: str = '127.0.0.1') -> None:
        self.names = set(LOOPBACK_NAMES)
        self.suffixes: set[str] = {'.localhost'}
        self.any = False
        entries = [entry.strip().lower() for entry in extra.split(',') if entry.strip()]
        self.configured = bool(entries)
        for entry in entries:
            if entry == '*':
                self.any = True
            elif entry.startswith(('*.', '.')):
                self.suffixes.add('.' + entry.lstrip('*.'))
            else:
                try:
                    self.names.add(split_host(entry)[0] if entry.count(':') <= 1 else entry.strip('[]'))
                except ValueError:  # e.g. a URL pasted for a name: say so at start, not at the first request
                    raise SystemExit(f'VOICE_UI_ALLOWED_HOSTS: {entry[:80]!r} is not a host name: give names such '
                                     'as voice.example.com, without http:// or a path') from None
        if bind_host in WILDCARD_ADDRESSES:  # this machine's addresses, as NiceGUI prints them on start
            self.names.update(interface_addresses())
        else:
            self.names.add(bind_host.lower().strip('[]').rstrip('.'))  # the address served on: its Host is itself

    def allows(self, host_header: str | None) -> bool:
        if not host_header:
            return False
        try:
            name, _ = split_host(host_header)
        except ValueError:
            return False
        return self.any or name in self.names or any(name.endswith(suffix) for suffix in self.suffixes)

    def same_origin(self, origin: str | None, host_header: str | None) -> bool:
        """A browser's `Origin` is acceptable when it names the host the request was sent to (an allowed one)."""
        if origin is None:
            return True  # not a browser request made on some page's behalf
        try:
            parts = urlsplit(origin)
            origin_host = split_host(parts.netloc)
            request_host = split_host(host_header or '')
        except ValueError:
            return False
        if parts.scheme not in DEFAULT_PORTS or not self.allows(host_header):
            return False
        default = DEFAULT_PORTS[parts.scheme]
        return (origin_host[0], origin_host[1] or default) == (request_host[0], request_host[1] or default) or \
            (origin_host[0] == request_host[0] and request_host[1] is None)  # a proxy that drops the port


class Proxies:
    """The reverse proxies whose forwarding headers (user, client address, scheme) are believed."""

    def __init__(self, spec: str = '') -> None:
        self.networks: list[Network] = []
        for entry in (e.strip() for e in spec.split(',')):
            if entry:
                try:
                    self.networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    raise SystemExit(f'VOICE_UI_TRUSTED_PROXIES: {entry[:80]!r} is not an address or CIDR') from None

    def trusts(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address((address or '').split('%')[0])
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client_address(self, peer: str | None, forwarded_for: str | None) -> str:
        """The first address, from the right of X-Forwarded-For, that is not one of our proxies."""
        address = peer or ''
        if not self.trusts(address) or not forwarded_for:
            return address
        for hop in reversed([h.strip() for h in forwarded_for.split(',')][-20:]):
            address = hop
            if not self.trusts(hop):
                break
        return address[:64]
