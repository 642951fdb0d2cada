"""Article pages: main text, metadata and boilerplate removal (pure, runs in a worker)."""
