"""Feeds: fetch (edge), parse, identity and schedule (pure core)."""
