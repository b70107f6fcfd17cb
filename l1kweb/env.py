"""Typed readers for settings that come from the environment.

Each helper fails loudly with the variable's name, the value it found and what
it expected, so a misconfigured deployment stops at start-up instead of
misbehaving later.
"""

import math
import os
import re
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class EnvError(ValueError):
    """A variable is set to a value its setting cannot use."""


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise EnvError(f"{name} must be one of 1/0, true/false, yes/no, on/off, but is {raw!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise EnvError(f"{name} must be an integer, but is {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise EnvError(f"{name} must be at least {minimum}, but is {value}.")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None, maximum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise EnvError(f"{name} must be a number, but is {raw!r}.") from None
    if not math.isfinite(value) or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise EnvError(f"{name} must be a number between {minimum} and {maximum}, but is {raw!r}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    items = [item.strip() for item in raw.split(",")]
    if any(item == "" for item in items):
        raise EnvError(f"{name} must be a comma-separated list without empty items, but is {raw!r}.")
    return items


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return Path(default)
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise EnvError(f"{name} must be an absolute path, but is {raw!r}.")
    return path


def env_url(name: str, *, schemes: tuple[str, ...], default: str | None = None) -> str | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    scheme, sep, rest = raw.partition("://")
    if not sep or scheme not in schemes or not rest:
        expected = ", ".join(f"{s}://..." for s in schemes)
        raise EnvError(f"{name} must be a URL of the form {expected}, but is {raw!r}.")
    return raw


def env_rate(name: str, default: str) -> str:
    """A request rate as Django REST framework's throttles read it: <number>/<second|minute|hour|day>."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", raw.strip()):
        raise EnvError(f"{name} must be a rate such as 600/minute (a whole number, then /second, /minute, /hour or /day), but is {raw!r}.")
    return raw.strip()
