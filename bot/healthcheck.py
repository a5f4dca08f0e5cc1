"""``studybot health``: ask a running bot's ``/healthz`` (the container's HEALTHCHECK runs this).

Standard library only, so the check starts in a fraction of a second.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from bot.settings import Settings


def health_url(settings: Settings) -> str:
    """Where this machine reaches the bot's endpoint: a wildcard bind address means loopback."""
    host = settings.http_host
    if host in {"", "0.0.0.0", "::"}:
        host = "127.0.0.1"
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{settings.http_port}/healthz"


def check(url: str, timeout: float = 5.0) -> tuple[bool, str]:
    """(healthy, what the endpoint said or why it could not be asked)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:  # 503: the body names what is down
        return False, exc.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"no answer from {url}: {reason}"
