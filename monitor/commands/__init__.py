"""Click commands grouped by area; ``monitor.cli`` registers them."""
