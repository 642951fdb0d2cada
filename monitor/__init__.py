"""monitor: polls news feeds, cleans articles, matches watch rules and sends digests."""

__version__ = "0.1.0"
