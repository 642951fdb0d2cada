"""The safe HTTP edge: every outbound request of monitor goes through ``HttpClient``.

``client`` holds the client (deadlines, redirects, concurrency, host cooldown, error
mapping), ``guard`` the SSRF address checks, ``transport`` the connection pinning to checked
addresses, ``pool`` the kept-alive connections (reused only for the same origin and checked
address), ``headers`` the headers as sent and as returned, and ``body`` the capped, bounded
decompression of response bodies.
"""

from monitor.http.client import HttpClient

__all__ = ["HttpClient"]
