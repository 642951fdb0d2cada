"""URL canonical forms: one spelling per article, so identity and dedup agree.

``canonicalize_url`` lower-cases the scheme and host, drops a trailing dot on the host, the
default port and the fragment (``#!`` hash-bang routes are kept: they name the page), drops
tracking parameters (``utm_*``, ``at_*``, click ids and the like, see ``TRACKING_PARAMS``),
sorts the remaining query parameters, and leaves the path and the parameter values byte for
byte as given. URLs that are not absolute http(s) URLs come back only stripped.
"""

from __future__ import annotations

from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

TRACKING_PREFIXES = ("utm_", "at_")
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_hsenc",
        "_hsmi",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
        "cmpid",
        "cmp",
        "ocid",
        "ncid",
        "smid",
        "mkt_tok",
        "sr_share",
        "wt.mc_id",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "__twitter_impression",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonicalize_url(url: str) -> str:
    """The canonical spelling of ``url`` (see the module docstring for the rules)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    netloc = _host(parts)
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    if "@" in parts.netloc:
        netloc = f"{parts.netloc.rpartition('@')[0]}@{netloc}"
    fragment = parts.fragment if parts.fragment.startswith("!") else ""
    return urlunsplit((scheme, netloc, parts.path or "/", _query(parts.query), fragment))


def host_of(url: str) -> str:
    """The lower-case host of ``url`` (IPv6 in brackets), no port or trailing dot; "" if none."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    return _host(parts) if parts.hostname else ""


def is_tracking_param(name: str) -> bool:
    """True for a query parameter name that only tracks the reader."""
    key = unquote_plus(name).strip().lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _host(parts: SplitResult) -> str:
    host = (parts.hostname or "").rstrip(".")
    return f"[{host}]" if ":" in host else host


def _query(query: str) -> str:
    pairs = [pair for pair in query.split("&") if pair]
    kept = [pair for pair in pairs if not is_tracking_param(pair.partition("=")[0])]
    return "&".join(sorted(kept, key=lambda pair: (pair.partition("=")[0], pair)))
