"""Point a subprocess's discord.py at the fake Discord.

Python imports `sitecustomize` at start-up from the first directory on sys.path that has one, so
putting this directory first on PYTHONPATH (the `fake_discord_env` fixture does) makes the real
entry point, unmodified, talk to the fake whose port is in FAKE_DISCORD_PORT. Without that
variable this module does nothing. It sets the same two public class attributes the in-process
fixture sets, and nothing else.
"""

from __future__ import annotations

import os


def _point_discord_at(port: int) -> None:
    import yarl
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    Route.BASE = f"http://127.0.0.1:{port}/api/v10"
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{port}/gateway")


_port = os.environ.get("FAKE_DISCORD_PORT")
if _port:
    _point_discord_at(int(_port))
