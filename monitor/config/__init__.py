"""config.yaml: loading, validation and error location.

``load_config(path)`` returns a :class:`LoadedConfig` (the frozen :class:`Config` plus where it
came from) or raises :class:`ConfigError` listing every problem at once as
``config.yaml:LINE:COL: key.path: message``.
"""

from monitor.config.loader import LoadedConfig, format_issues, load_config, load_config_text
from monitor.config.schema import Config
from monitor.errors import ConfigError, ConfigIssue

__all__ = [
    "Config",
    "ConfigError",
    "ConfigIssue",
    "LoadedConfig",
    "format_issues",
    "load_config",
    "load_config_text",
]
