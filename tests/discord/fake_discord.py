"""A fake Discord on 127.0.0.1: REST under /api/v10 and a websocket gateway, for end-to-end tests.

The real, unmodified discord.py client talks to it once two public class attributes point at it
(`discord.http.Route.BASE` and `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`; the fixtures in
conftest.py set them, sitecustomize/ does it for a subprocess). discord.py's HTTP client, rate-limit
and retry logic, gateway handshake and event parsing all run. The fake records every request so
tests assert on exactly what Discord would have received, and it refuses what Discord refuses
(unknown commands, messages over the limits, a second response to one interaction, follow-ups
before the first response, privileged intents that were not granted) so a bug fails loudly.

Sharding works as on Discord: `GET /gateway/bot` recommends `recommended_shards`; a connection that
identified with `[shard_id, shard_count]` gets the guilds, and every event of a guild, of its own
shard only (`(guild_id >> 22) % shard_count == shard_id`, see `shard_of`), events outside guilds
(DMs) go to shard 0, and an IDENTIFY with an invalid shard is closed with 4010.

Deliberately left out: RESUME (answered with INVALID_SESSION, so discord.py identifies again),
zlib compression (frames are plain JSON text), voice, presences, reactions beyond a 204, channel
permission overwrites, enforcement of the bot's own permissions on REST routes, interactions from
DMs, the 3-second and 15-minute interaction deadlines, and, for sharding, "sharding required" (4011),
the identify rate limit (`max_concurrency`) and the session start limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

log = logging.getLogger(__name__)

JSON = dict[str, Any]
T = TypeVar("T")

DISCORD_EPOCH_MS = 1_420_070_400_000
# The longest a test waits for an event. A wait returns the moment the event happens, so this only
# decides how long a broken test takes to fail; it is generous so that a busy CI machine (every core
# shared) does not fail a test that is merely slow.
WAIT = 60.0
API_PREFIX = "/api/v10"

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 53) - 1

EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | ADD_REACTIONS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)
BOT_PERMISSIONS = EVERYONE_PERMISSIONS | CREATE_PRIVATE_THREADS

# Gateway intents.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = {"members": INTENT_GUILD_MEMBERS, "presences": INTENT_GUILD_PRESENCES}
PRIVILEGED_INTENTS["message_content"] = INTENT_MESSAGE_CONTENT
# Application flags an unverified bot gets when an intent is switched on in the developer portal.
_INTENT_APP_FLAGS = {"presences": 1 << 13, "members": 1 << 15, "message_content": 1 << 19}

# Message flags.
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_HAS_THREAD = 1 << 5
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_COMPONENTS_V2 = 1 << 15
_SETTABLE_MESSAGE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_EPHEMERAL | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2

# Interaction types and callback types.
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
_ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL},
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE},
}

# Discord's limits, checked on every message the bot sends.
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_EMBED_DESCRIPTION = 4096
MAX_EMBED_FIELDS = 25
MAX_ACTION_ROWS = 5
MAX_CHOICES = 25

_MESSAGE = r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)"
_RECORDED_HEADERS = {"authorization", "content-type", "x-audit-log-reason", "user-agent"}
_MENTION = re.compile(r"<@!?(\d+)>")
_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


class FakeDiscordError(AssertionError):
    """The test asked for something Discord would not do (an unknown command, a missing button...)."""


class BotLoggedError(AssertionError):
    """discord.py or the bot logged an ERROR while a test was waiting on the fake."""


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


# --------------------------------------------------------------------------------------------
# The world: users, a guild, its roles and channels
# --------------------------------------------------------------------------------------------


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
        }


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int
    position: int = 0
    bot_id: int | None = None

    def payload(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.bot_id is not None,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class FakeMember:
    user: FakeUser
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = "2024-09-01T12:00:00+00:00"

    def payload(self, *, with_user: bool = True, permissions: int | None = None) -> JSON:
        data: JSON = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class FakeChannel:
    """A text channel (type 0), a thread (11 public, 12 private) or a DM (type 1)."""

    id: int
    name: str
    type: int = 0
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    owner_id: int | None = None
    auto_archive_duration: int = 1440
    archived: bool = False
    invitable: bool = True
    created_at: str = field(default_factory=_now_iso)
    members: set[int] = field(default_factory=set)
    recipients: list[FakeUser] = field(default_factory=list)
    message_count: int = 0
    last_message_id: int | None = None

    @property
    def is_thread(self) -> bool:
        return self.type in (10, 11, 12)

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def payload(self) -> JSON:
        last = str(self.last_message_id) if self.last_message_id else None
        if self.type == 1:
            return {
                "id": str(self.id),
                "type": 1,
                "last_message_id": last,
                "recipients": [u.payload() for u in self.recipients],
                "flags": 0,
            }
        if self.is_thread:
            return {
                "id": str(self.id),
                "type": self.type,
                "guild_id": str(self.guild_id),
                "parent_id": str(self.parent_id),
                "owner_id": str(self.owner_id),
                "name": self.name,
                "last_message_id": last,
                "message_count": self.message_count,
                "member_count": len(self.members),
                "total_message_sent": self.message_count,
                "rate_limit_per_user": 0,
                "flags": 0,
                "thread_metadata": {
                    "archived": self.archived,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": self.created_at,
                    "locked": False,
                    "invitable": self.invitable,
                    "create_timestamp": self.created_at,
                },
            }
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "topic": self.topic,
            "nsfw": False,
            "last_message_id": last,
            "rate_limit_per_user": 0,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "flags": 0,
        }


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    joined_at: str = "2024-09-01T12:00:00+00:00"

    def permissions_for(self, user_id: int) -> int:
        """Guild-level permissions (channel overwrites are not modelled)."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        perms = self.roles[self.id].permissions if self.id in self.roles else 0
        if member is not None:
            for role_id in member.roles:
                perms |= self.roles[role_id].permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    @property
    def text_channels(self) -> list[FakeChannel]:
        return [c for c in self.channels.values() if c.type in (0, 5)]

    @property
    def threads(self) -> list[FakeChannel]:
        return [c for c in self.channels.values() if c.is_thread]


GUILD_ID = 1000
GENERAL_ID = 2000
STUDY_ID = 2001
MODERATOR_ROLE_ID = 1001
BOT_ROLE_ID = 1002
ADMIN_ID = 3001
MEMBER_ID = 3002
OTHER_MEMBER_ID = 3003
BOT_ID = 4000
APPLICATION_ID = BOT_ID  # a bot's user id is its application id
VALID_TOKEN = "test-token"


@dataclass
class World:
    bot_user: FakeUser
    application_id: int
    guilds: dict[int, FakeGuild]
    users: dict[int, FakeUser]

    @classmethod
    def default(cls) -> World:
        """One guild "Study Group" with #general and #study, an owner-admin, two members and the bot."""
        bot = FakeUser(BOT_ID, "StudyBot", bot=True)
        admin = FakeUser(ADMIN_ID, "ada", "Ada Admin")
        member = FakeUser(MEMBER_ID, "ben", "Ben Student")
        other = FakeUser(OTHER_MEMBER_ID, "cleo", "Cleo Student")
        users = {u.id: u for u in (bot, admin, member, other)}
        world = cls(bot_user=bot, application_id=APPLICATION_ID, guilds={}, users=users)
        world.add_guild(GUILD_ID, "Study Group")
        return world

    def add_guild(self, guild_id: int, name: str) -> FakeGuild:
        """A guild laid out like the default one, with the same people in it.

        Its ids derive from `guild_id` (for the default guild they are the module's constants):
        #general is guild_id + 1000 and #study guild_id + 1001; the Moderators role (the admin has
        it) is guild_id + 1 and the bot's role guild_id + 2. Use `guild_id_on_shard` for a guild
        that a given shard receives.
        """
        if guild_id in self.guilds:
            raise ValueError(f"there is already a guild {guild_id}")
        moderators, bot_role, general, study = guild_id + 1, guild_id + 2, guild_id + 1000, guild_id + 1001
        guild = FakeGuild(guild_id, name, owner_id=ADMIN_ID)
        guild.roles = {
            guild_id: FakeRole(guild_id, "@everyone", EVERYONE_PERMISSIONS, position=0),
            moderators: FakeRole(moderators, "Moderators", EVERYONE_PERMISSIONS | MANAGE_GUILD, 2),
            bot_role: FakeRole(bot_role, self.bot_user.username, BOT_PERMISSIONS, position=1, bot_id=self.bot_user.id),
        }
        guild.channels = {
            general: FakeChannel(general, "general", guild_id=guild_id, position=0, topic="Chat"),
            study: FakeChannel(study, "study", guild_id=guild_id, position=1, topic="Questions and quizzes"),
        }
        people = [(self.bot_user.id, [bot_role]), (ADMIN_ID, [moderators]), (MEMBER_ID, []), (OTHER_MEMBER_ID, [])]
        guild.members = {uid: FakeMember(self.users[uid], roles) for uid, roles in people if uid in self.users}
        self.guilds[guild_id] = guild
        return guild


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events (Discord's formula)."""
    return (guild_id >> 22) % shard_count


def guild_id_on_shard(shard_id: int, shard_count: int, *, low_bits: int = GUILD_ID) -> int:
    """A guild id (a snowflake: the shard comes from the bits above 22) that `shard_id` receives."""
    if not 0 <= shard_id < shard_count or not 0 <= low_bits < 1 << 22:
        raise ValueError(f"no shard {shard_id} of {shard_count}, or low bits {low_bits} out of range")
    return shard_id << 22 | low_bits


# --------------------------------------------------------------------------------------------
# What the fake records
# --------------------------------------------------------------------------------------------


@dataclass
class RecordedFile:
    form_name: str  # the multipart field, e.g. "files[0]"
    filename: str
    content_type: str
    size: int
    data: bytes = field(repr=False)


@dataclass
class RecordedRequest:
    """One HTTP request as Discord would have received it."""

    method: str
    path: str  # relative to /api/v10 for API calls ("/channels/2000/messages"); "/cdn/..." for files
    query: dict[str, str]
    json: Any  # the JSON body, or a multipart body's payload_json; None when there is none
    files: list[RecordedFile]
    headers: dict[str, str]
    status: int = 0  # the status the fake answered with
    response: Any = None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("Authorization")


_RECORD = web.RequestKey("record", RecordedRequest)


@dataclass
class FakeAttachment:
    """A file a user uploads (slash command attachment option or a message attachment)."""

    id: int
    filename: str
    data: bytes = field(repr=False)
    content_type: str = "application/octet-stream"
    description: str | None = None
    url: str = ""

    def payload(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }
        if self.description is not None:
            data["description"] = self.description
        return data


@dataclass
class Callback:
    """The bot's response to an interaction (POST /interactions/{id}/{token}/callback)."""

    type: int
    data: JSON | None
    request: RecordedRequest
    message: JSON | None = None  # the message it created or updated, as it was then (get_message for now)

    @property
    def body(self) -> Any:
        return self.request.json

    @property
    def content(self) -> str | None:
        return None if self.message is None else self.message.get("content")

    @property
    def ephemeral(self) -> bool:
        return bool(((self.data or {}).get("flags") or 0) & FLAG_EPHEMERAL)

    @property
    def choices(self) -> list[JSON]:
        if self.type != AUTOCOMPLETE_RESULT:
            raise FakeDiscordError(f"callback type {self.type} is not an autocomplete result")
        return list((self.data or {}).get("choices", []))


@dataclass
class FakeInteraction:
    """An interaction a test user started; the fake fills in the bot's responses."""

    id: int
    token: str
    type: int
    user: FakeUser
    guild_id: int | None
    channel_id: int
    payload: JSON
    message_id: int | None = None  # the message a component or modal belongs to
    callback: Callback | None = None
    followups: list[JSON] = field(default_factory=list)
    original_message_id: int | None = None
    placeholder_pending: bool = False  # a "thinking" defer whose placeholder no follow-up replaced yet
    received_by: list[GatewaySession] = field(default_factory=list)  # the connections it was sent to

    @property
    def data(self) -> JSON:
        return dict(self.payload.get("data") or {})


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    retry_after: float
    remaining: int
    is_global: bool

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and self.method in ("*", method) and self.pattern.fullmatch(path) is not None


@dataclass
class _ApiRoute:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., Awaitable[web.StreamResponse]]
    bot_auth: bool


@dataclass(frozen=True)
class GatewaySession:
    """One bot connection to the gateway, as identified: its session id and [shard_id, shard_count]."""

    session_id: str
    shard: tuple[int, int]


class _GatewayConnection:
    def __init__(self, ws: web.WebSocketResponse, query: Mapping[str, str]) -> None:
        self.ws = ws
        self.query = dict(query)
        self.seq = 0
        self.intents = 0
        self.identified = False
        self.ready = False
        self.session_id = ""
        self.shard: tuple[int, int] = (0, 1)
        self._lock = asyncio.Lock()

    async def send(self, op: int, d: Any, event: str | None = None) -> None:
        async with self._lock:
            payload: JSON = {"op": op, "d": d, "s": None, "t": None}
            if op == 0:
                self.seq += 1
                payload["s"] = self.seq
                payload["t"] = event
            if self.ws.closed:
                return
            try:
                await self.ws.send_str(json.dumps(payload))
            except (ConnectionError, RuntimeError):
                log.debug("gateway socket closed while sending %s", event or op)

    async def close(self, code: int, reason: str) -> None:
        self.ready = False
        await self.ws.close(code=code, message=reason.encode())

    @property
    def session(self) -> GatewaySession:
        return GatewaySession(self.session_id, self.shard)

    def receives(self, guild_id: int | None) -> bool:
        """Whether events of this guild (None: outside any guild, e.g. DMs) come to this connection."""
        shard_id, shard_count = self.shard
        return shard_id == 0 if guild_id is None else shard_of(guild_id, shard_count) == shard_id


def _json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    # Exactly "application/json": with "; charset=utf-8" discord.py treats the body as text.
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def _error(status: int, code: int, message: str, errors: JSON | None = None) -> web.Response:
    body: JSON = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    return _json_response(body, status=status)


def _form_error(path: Iterable[str | int], code: str, message: str) -> JSON:
    """Discord's nested "Invalid Form Body" error for one field."""
    node: JSON = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(list(path)):
        node = {str(key): node}
    return node


def _invalid(path: Iterable[str | int], code: str, message: str) -> web.Response:
    return _error(400, 50035, "Invalid Form Body", _form_error(path, code, message))


def _compile(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    return pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)


def _walk_components(components: Iterable[JSON]) -> Iterable[JSON]:
    for component in components:
        yield component
        yield from _walk_components(component.get("components") or [])
        for key in ("component", "accessory"):
            if isinstance(component.get(key), dict):
                yield from _walk_components([component[key]])


def _valid_shard(shard: Any) -> bool:
    """[shard_id, shard_count] with 0 <= shard_id < shard_count, as IDENTIFY must send it."""
    if not isinstance(shard, list) or len(shard) != 2 or not all(type(n) is int for n in shard):
        return False
    shard_id, shard_count = shard
    return 0 <= shard_id < shard_count


def _snapshot(message: JSON) -> JSON:
    """A referenced message as Discord nests it: a copy, one level deep."""
    return {k: v for k, v in message.items() if k != "referenced_message"}


class _Invalid(Exception):
    """Internal control flow: a handler found the request invalid; `response` is the 4xx to send."""

    def __init__(self, response: web.Response) -> None:
        super().__init__("invalid request")
        self.response = response


# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------


class FakeDiscord:
    """REST + gateway on 127.0.0.1 with helpers that let a test act as Discord's users.

    Use as `async with FakeDiscord() as fake:` or call `start()` / `close()`.
    """

    def __init__(
        self,
        *,
        token: str = VALID_TOKEN,
        privileged_intents: Iterable[str] = (),
        world: World | None = None,
        heartbeat_interval_ms: int = 45_000,
        recommended_shards: int = 1,
    ) -> None:
        self.valid_token = token
        self.recommended_shards = recommended_shards  # what GET /gateway/bot recommends
        self.privileged_intents: set[str] = set()
        self.grant_intents(*privileged_intents)
        self.world = world or World.default()
        self.heartbeat_interval_ms = heartbeat_interval_ms

        self.requests: list[RecordedRequest] = []
        self.identifies: list[JSON] = []  # every IDENTIFY payload (token included)
        self.interactions: dict[int, FakeInteraction] = {}
        self.messages_log: list[JSON] = []  # every message created, in order (users' and the bot's)
        self._commands: dict[int | None, list[JSON]] = {}
        self._messages: dict[int, JSON] = {}
        self._cdn: dict[int, FakeAttachment] = {}
        self._dm_channels: dict[int, FakeChannel] = {}
        self._faults: list[_Fault] = []
        self._sockets: list[_GatewayConnection] = []
        self._errors: list[str] = []
        self._changed = asyncio.Event()
        self._last_snowflake = 0
        self._counter = itertools.count()
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0
        self._routes = self._build_routes()

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self, port: int = 0) -> FakeDiscord:
        self._loop = asyncio.get_running_loop()
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/attachments/{attachment_id}/{filename}", self._cdn_file)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._api)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        for conn in list(self._sockets):
            await conn.close(1001, "fake Discord is shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """The value for discord.http.Route.BASE."""
        return self.url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """The value for discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    def grant_intents(self, *names: str) -> None:
        """Switch privileged intents on, as in the developer portal: members, presences, message_content."""
        unknown = set(names) - set(PRIVILEGED_INTENTS)
        if unknown:
            raise ValueError(f"unknown privileged intents {sorted(unknown)}; known: {sorted(PRIVILEGED_INTENTS)}")
        self.privileged_intents.update(names)

    # ---- the world, for tests ----------------------------------------------------------------

    @property
    def bot_user(self) -> FakeUser:
        return self.world.bot_user

    @property
    def application_id(self) -> int:
        return self.world.application_id

    @property
    def guild(self) -> FakeGuild:
        return self.world.guilds[GUILD_ID]

    @property
    def general(self) -> FakeChannel:
        return self.guild.channels[GENERAL_ID]

    @property
    def study(self) -> FakeChannel:
        return self.guild.channels[STUDY_ID]

    @property
    def admin(self) -> FakeUser:
        """The guild owner; also has the Moderators role (MANAGE_GUILD)."""
        return self.world.users[ADMIN_ID]

    @property
    def member(self) -> FakeUser:
        """A member without admin permissions."""
        return self.world.users[MEMBER_ID]

    @property
    def other_member(self) -> FakeUser:
        """A second member without admin permissions."""
        return self.world.users[OTHER_MEMBER_ID]

    def channel(self, channel_id: int) -> FakeChannel | None:
        for guild in self.world.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id]
        return self._dm_channels.get(channel_id)

    def synced_commands(self, guild: FakeGuild | int | None = None) -> list[JSON]:
        """The commands the bot last synced, globally (guild=None) or for one guild."""
        return list(self._commands.get(self._guild_id(guild), []))

    def get_message(self, message_id: int) -> JSON | None:
        return self._messages.get(int(message_id))

    def channel_messages(self, channel: FakeChannel | int) -> list[JSON]:
        """Messages now in a channel (ephemeral ones included), oldest first."""
        cid = str(channel.id if isinstance(channel, FakeChannel) else channel)
        return [m for m in self._messages.values() if m["channel_id"] == cid]

    @property
    def threads(self) -> list[FakeChannel]:
        """Every thread, oldest first."""
        return [t for g in self.world.guilds.values() for t in g.threads]

    def attachment(
        self,
        filename: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        description: str | None = None,
    ) -> FakeAttachment:
        """A file a user uploads; the bot can download it from the fake's CDN."""
        att = FakeAttachment(self._snowflake(), filename, data, content_type, description)
        att.url = f"{self.url}/cdn/attachments/{att.id}/{filename}"
        self._cdn[att.id] = att
        return att

    # ---- requests, faults and waiting ------------------------------------------------------

    def find_requests(self, method: str = "*", path_pattern: str | re.Pattern[str] = ".*") -> list[RecordedRequest]:
        """Recorded requests whose method matches and whose path matches the regex (fullmatch)."""
        pattern = _compile(path_pattern)
        return [r for r in self.requests if method in ("*", r.method) and pattern.fullmatch(r.path)]

    def fail_next(
        self,
        method: str,
        path_pattern: str | re.Pattern[str],
        *,
        status: int = 429,
        retry_after: float = 0.05,
        times: int = 1,
        is_global: bool = False,
    ) -> None:
        """Answer the next `times` matching requests with `status` (429 as Discord's rate limiter does)."""
        self._faults.append(_Fault(method, _compile(path_pattern), status, retry_after, times, is_global))

    async def wait_for_request(
        self,
        method: str,
        path_pattern: str | re.Pattern[str],
        *,
        timeout: float = WAIT,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        after: int = 0,
    ) -> RecordedRequest:
        """The first answered request (from index `after` of `requests`) that matches; waits for one."""
        pattern = _compile(path_pattern)

        def find() -> RecordedRequest | None:
            for r in self.requests[after:]:
                matches = r.status and method in ("*", r.method) and pattern.fullmatch(r.path)
                if matches and (predicate is None or predicate(r)):
                    return r
            return None

        return await self._wait(find, timeout, f"{method} {pattern.pattern}")

    async def wait_for_callback(self, interaction: FakeInteraction, *, timeout: float = WAIT) -> Callback:
        """The bot's response to the interaction (type and data as sent)."""
        return await self._wait(lambda: interaction.callback, timeout, f"a response to interaction {interaction.id}")

    def followups(self, interaction: FakeInteraction) -> list[JSON]:
        """Follow-up messages sent so far (the one that replaced a "thinking" placeholder first)."""
        return list(interaction.followups)

    async def wait_for_followup(self, interaction: FakeInteraction, index: int = 0, *, timeout: float = WAIT) -> JSON:
        """Follow-up number `index` (as sent); a negative index waits for at least -index follow-ups."""

        def find() -> JSON | None:
            sent = interaction.followups
            return sent[index] if -len(sent) <= index < len(sent) else None

        return await self._wait(find, timeout, f"follow-up #{index} to interaction {interaction.id}")

    async def wait_for_message(
        self,
        channel: FakeChannel | int | None = None,
        *,
        predicate: Callable[[JSON], bool] | None = None,
        from_bot: bool = True,
        after: int = 0,
        timeout: float = WAIT,
    ) -> JSON:
        """The first message (index >= `after` in `messages_log`) created in `channel` by the bot (or anyone)."""
        cid = None if channel is None else str(channel.id if isinstance(channel, FakeChannel) else channel)

        def find() -> JSON | None:
            for m in self.messages_log[after:]:
                if cid is not None and m["channel_id"] != cid:
                    continue
                if from_bot and m["author"]["id"] != str(self.bot_user.id):
                    continue
                if predicate is None or predicate(m):
                    return m
            return None

        return await self._wait(find, timeout, f"a message in channel {cid}")

    async def wait_until_connected(self, *, shard: int | None = None, timeout: float = WAIT) -> None:
        """Wait for a bot connection to be ready (with `shard`: one that identified as that shard)."""

        def connected() -> bool | None:
            return any(shard is None or c.shard[0] == shard for c in self._ready_sockets()) or None

        what = "a bot to connect to the gateway" + ("" if shard is None else f" as shard {shard}")
        await self._wait(connected, timeout, what)

    @property
    def sessions(self) -> list[GatewaySession]:
        """The bot connections ready now, in the order they connected."""
        return [c.session for c in self._ready_sockets()]

    def report_error(self, text: str) -> None:
        """Called by the test's log handler: waits fail at once instead of timing out."""
        self._errors.append(text)
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._notify()
        else:
            loop.call_soon_threadsafe(self._notify)

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _wait(self, find: Callable[[], T | None], timeout: float, what: str) -> T:
        deadline = time.monotonic() + timeout
        while True:
            if self._errors:  # only unexpected errors are reported: the test fails anyway, so fail now
                raise BotLoggedError(f"while waiting for {what}, the bot logged an error:\n{self._errors[0]}")
            found = find()
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                recent = "\n".join(f"  {r.method} {r.path} -> {r.status}" for r in self.requests[-10:])
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}; last requests:\n{recent}")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    # ---- acting as users -------------------------------------------------------------------

    async def slash(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: FakeUser | int | None = None,
        guild: FakeGuild | int | None = None,
        channel: FakeChannel | int | None = None,
        subcommand: str | None = None,
        locale: str = "en-US",
        force: bool = False,
    ) -> FakeInteraction:
        """A user runs /name [subcommand] with options, as Discord's client would send it.

        `name` may include the subcommand ("quiz start"), or pass `subcommand` ("start" or
        "group sub"). Option values are typed from the synced schema
        (str, int, bool, float, FakeUser, FakeChannel, FakeRole, FakeAttachment). Raises
        FakeDiscordError for what Discord's client would not let the user send: an unsynced
        command, an unknown or missing required option, a value of the wrong type or outside the
        choices, or a command hidden by default_member_permissions (unless force=True).
        """
        return await self._command_interaction(
            APPLICATION_COMMAND, name, options or {}, user, guild, channel, subcommand, locale, force, None
        )

    async def autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        *,
        focused: str | None = None,
        user: FakeUser | int | None = None,
        guild: FakeGuild | int | None = None,
        channel: FakeChannel | int | None = None,
        subcommand: str | None = None,
        timeout: float = WAIT,
    ) -> list[JSON]:
        """A user types into an option (`focused`, by default the last one); returns the bot's choices."""
        if not options:
            raise FakeDiscordError("autocomplete needs the option being typed into")
        focused = focused or list(options)[-1]
        interaction = await self._command_interaction(
            AUTOCOMPLETE, name, options, user, guild, channel, subcommand, "en-US", False, focused
        )
        callback = await self.wait_for_callback(interaction, timeout=timeout)
        return callback.choices

    async def click(
        self,
        message: JSON | int,
        custom_id: str | None = None,
        *,
        label: str | None = None,
        user: FakeUser | int | None = None,
    ) -> FakeInteraction:
        """A user clicks a button (by custom_id or label) on a message the bot sent."""
        msg = self._message_arg(message)
        button = self._find_component(msg, custom_id, label, types=(2,))
        if button.get("disabled"):
            raise FakeDiscordError(f"button {button.get('label')!r} is disabled")
        if button.get("style") == 5 or "custom_id" not in button:
            raise FakeDiscordError("link buttons open a URL; Discord sends no interaction for them")
        data = {"custom_id": button["custom_id"], "component_type": 2}
        if "id" in button:
            data["id"] = button["id"]
        return await self._component_interaction(msg, data, user)

    async def select(
        self,
        message: JSON | int,
        custom_id: str,
        values: list[str],
        *,
        user: FakeUser | int | None = None,
    ) -> FakeInteraction:
        """A user picks `values` in a select menu on a message the bot sent."""
        msg = self._message_arg(message)
        menu = self._find_component(msg, custom_id, None, types=(3, 5, 6, 7, 8))
        if menu.get("disabled"):
            raise FakeDiscordError(f"select {custom_id!r} is disabled")
        low, high = menu.get("min_values", 1), menu.get("max_values", 1)
        if not low <= len(values) <= high:
            raise FakeDiscordError(f"select {custom_id!r} takes {low}..{high} values, got {len(values)}")
        if menu["type"] == 3:
            allowed = {o["value"] for o in menu.get("options", [])}
            if not set(values) <= allowed:
                raise FakeDiscordError(f"select {custom_id!r} has no options {sorted(set(values) - allowed)}")
        data = {"custom_id": custom_id, "component_type": menu["type"], "values": list(values)}
        return await self._component_interaction(msg, data, user)

    async def submit_modal(
        self,
        custom_id: str | None = None,
        values: Mapping[str, str | list[str]] | None = None,
        *,
        user: FakeUser | int | None = None,
        message: JSON | int | None = None,
    ) -> FakeInteraction:
        """A user fills in and submits a modal the bot opened (the latest one when custom_id is None).

        `values` maps each text input's custom_id to its text (a list for a select in a label).
        Raises FakeDiscordError for an unknown input, a missing required one or a length outside
        min_length..max_length: Discord's client would not submit those.
        """
        opened = self._find_modal(custom_id)
        modal = opened.callback.data if opened.callback and opened.callback.data else {}
        values = dict(values or {})
        components = self._modal_submission(modal.get("components", []), values)
        if values:
            raise FakeDiscordError(f"modal {modal.get('custom_id')!r} has no inputs {sorted(values)}")
        if message is None and opened.message_id is not None:
            message = opened.message_id
        msg = None if message is None else self._message_arg(message)
        data = {"custom_id": modal["custom_id"], "components": components}
        the_user = self._user_arg(user) if user is not None else opened.user
        channel = self.channel(opened.channel_id)
        return await self._new_interaction(MODAL_SUBMIT, data, the_user, channel, message=msg)

    async def message(
        self,
        content: str,
        *,
        user: FakeUser | int | None = None,
        channel: FakeChannel | int | None = None,
        mentions: Iterable[FakeUser | int] | None = None,
        reference: JSON | int | None = None,
        attachments: Iterable[FakeAttachment] = (),
    ) -> JSON:
        """A user posts a message; the bot gets MESSAGE_CREATE with `content` blanked unless it has the
        message content intent, is mentioned (or replied to), or wrote the message."""
        author = self._user_arg(user) if user is not None else self.member
        chan = self._channel_arg(channel)
        mentioned = {int(m) for m in _MENTION.findall(content)}
        mentioned.update(self._user_arg(m).id for m in mentions or ())
        msg = self._base_message(chan, author, content=content, message_type=0)
        if reference is not None:
            ref = self._message_arg(reference)
            msg["type"] = 19
            msg["message_reference"] = {"message_id": ref["id"], "channel_id": ref["channel_id"], "type": 0}
            if chan.guild_id:
                msg["message_reference"]["guild_id"] = str(chan.guild_id)
            msg["referenced_message"] = _snapshot(ref)
            mentioned.add(int(ref["author"]["id"]))  # a reply pings its author by default
        msg["mentions"] = [self._mention_payload(uid, chan) for uid in sorted(mentioned) if uid in self.world.users]
        msg["attachments"] = [a.payload() for a in attachments]
        self._store_message(msg, chan)
        await self._broadcast_message("MESSAGE_CREATE", msg, chan)
        return msg

    async def dispatch(self, event: str, data: JSON, *, intent: int | None = None) -> int:
        """Send a raw DISPATCH event to the ready connections that receive it; returns how many got it.

        Those are the connections of the shard that owns the event's guild (`guild_id` in `data`, or
        `id` for GUILD_CREATE/UPDATE/DELETE), or of shard 0 for an event outside guilds, that have
        `intent`.
        """
        return len(await self._deliver(event, data, intent=intent))

    async def _deliver(self, event: str, data: JSON, *, intent: int | None = None) -> list[_GatewayConnection]:
        guild_id = data.get("id") if event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE") else data.get("guild_id")
        sockets = [
            c
            for c in self._ready_sockets()
            if (intent is None or c.intents & intent) and c.receives(None if guild_id is None else int(guild_id))
        ]
        for conn in sockets:
            await conn.send(0, data, event)
        return sockets

    # ---- building interactions ---------------------------------------------------------------

    async def _command_interaction(
        self,
        itype: int,
        name: str,
        options: Mapping[str, Any],
        user: FakeUser | int | None,
        guild: FakeGuild | int | None,
        channel: FakeChannel | int | None,
        subcommand: str | None,
        locale: str,
        force: bool,
        focused: str | None,
    ) -> FakeInteraction:
        # "quiz start" is the command "quiz" with the subcommand "start", as Discord's client shows it.
        name, *path = name.split()
        path += (subcommand or "").split()
        the_user = self._user_arg(user) if user is not None else self.member
        chan = self._channel_arg(channel)
        gid = self._guild_id(guild) if guild is not None else chan.guild_id
        if gid is None:
            raise FakeDiscordError("the fake only sends commands from guild channels")
        the_guild = self.world.guilds[gid]
        command, command_guild = self._find_command(name, gid)
        if not force:
            self._check_can_use(command, the_guild, the_user)
        resolved: JSON = {}
        built = self._nest_options(command.get("options", []), path, options, resolved, the_guild, focused)
        data: JSON = {"id": command["id"], "name": name, "type": command.get("type", 1)}
        if built:
            data["options"] = built
        if resolved:
            data["resolved"] = resolved
        if command_guild is not None:
            data["guild_id"] = str(command_guild)
        return await self._new_interaction(itype, data, the_user, chan, locale=locale)

    async def _component_interaction(self, msg: JSON, data: JSON, user: FakeUser | int | None) -> FakeInteraction:
        chan = self.channel(int(msg["channel_id"]))
        if chan is None:
            raise FakeDiscordError(f"message {msg['id']} is in an unknown channel")
        if user is not None:
            the_user = self._user_arg(user)
        else:
            # By default the user who ran the command that posted the message clicks.
            meta = msg.get("interaction_metadata") or {}
            author = self.world.users.get(int(meta["user"]["id"])) if meta else None
            the_user = author or self.member
        return await self._new_interaction(MESSAGE_COMPONENT, data, the_user, chan, message=msg)

    async def _new_interaction(
        self,
        itype: int,
        data: JSON,
        user: FakeUser,
        channel: FakeChannel | None,
        *,
        message: JSON | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        if channel is None:
            raise FakeDiscordError("interaction in an unknown channel")
        if not self._ready_sockets():
            raise FakeDiscordError("no bot is connected to the fake gateway")
        if not any(c.receives(channel.guild_id) for c in self._ready_sockets()):
            shards = sorted(c.shard for c in self._ready_sockets())
            raise FakeDiscordError(f"no bot connection receives guild {channel.guild_id} (connected: {shards})")
        iid = self._snowflake()
        token = "itok_" + secrets.token_urlsafe(24)
        payload: JSON = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "token": token,
            "version": 1,
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "locale": locale,
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "data": data,
        }
        if channel.guild_id is not None:
            guild = self.world.guilds[channel.guild_id]
            member = guild.members.get(user.id) or FakeMember(user)
            payload["guild_id"] = str(guild.id)
            payload["guild"] = {"id": str(guild.id), "locale": "en-US", "features": []}
            payload["guild_locale"] = "en-US"
            payload["member"] = member.payload(permissions=guild.permissions_for(user.id))
            payload["app_permissions"] = str(guild.permissions_for(self.bot_user.id))
            payload["authorizing_integration_owners"] = {"0": str(guild.id)}
            payload["context"] = 0
        else:
            payload["user"] = user.payload()
            payload["app_permissions"] = str(EVERYONE_PERMISSIONS)
            payload["authorizing_integration_owners"] = {"0": "0"}
            payload["context"] = 1
        if message is not None:
            payload["message"] = dict(message)  # as it was when the user clicked
        interaction = FakeInteraction(
            id=iid,
            token=token,
            type=itype,
            user=user,
            guild_id=channel.guild_id,
            channel_id=channel.id,
            payload=payload,
            message_id=int(message["id"]) if message is not None else None,
        )
        self.interactions[iid] = interaction
        sent_to = await self._deliver("INTERACTION_CREATE", payload)
        interaction.received_by = [c.session for c in sent_to]
        return interaction

    def _find_command(self, name: str, guild_id: int) -> tuple[JSON, int | None]:
        for scope in (guild_id, None):
            for command in self._commands.get(scope, []):
                if command["name"] == name and command.get("type", 1) == 1:
                    return command, scope
        synced = sorted({c["name"] for cmds in self._commands.values() for c in cmds})
        raise FakeDiscordError(f"/{name} was never synced, so Discord would not offer it (synced: {synced})")

    def _check_can_use(self, command: JSON, guild: FakeGuild, user: FakeUser) -> None:
        contexts = command.get("contexts")
        if contexts is not None and 0 not in contexts:
            raise FakeDiscordError(f"/{command['name']} is not available in guilds (contexts={contexts})")
        needed = command.get("default_member_permissions")
        if needed is None:
            return
        have = guild.permissions_for(user.id)
        needed_bits = int(needed)
        if have == ALL_PERMISSIONS:  # the owner and administrators see every command
            return
        if needed_bits == 0 or have & needed_bits != needed_bits:
            raise FakeDiscordError(
                f"{user.username} cannot see /{command['name']}: it needs permissions {needed_bits} "
                "(default_member_permissions); pass force=True to send it anyway"
            )

    def _nest_options(
        self,
        schema: list[JSON],
        path: list[str],
        values: Mapping[str, Any],
        resolved: JSON,
        guild: FakeGuild,
        focused: str | None,
    ) -> list[JSON]:
        subs = [o for o in schema if o["type"] in (1, 2)]
        if path:
            sub = next((o for o in subs if o["name"] == path[0]), None)
            if sub is None:
                raise FakeDiscordError(f"no subcommand {path[0]!r}; there are {[o['name'] for o in subs]}")
            inner = self._nest_options(sub.get("options", []), path[1:], values, resolved, guild, focused)
            entry: JSON = {"name": sub["name"], "type": sub["type"]}
            if inner:
                entry["options"] = inner
            return [entry]
        if subs:
            raise FakeDiscordError(f"a subcommand is needed: one of {[o['name'] for o in subs]}")
        by_name = {o["name"]: o for o in schema}
        built = []
        for name, value in values.items():
            option = by_name.get(name)
            if option is None:
                raise FakeDiscordError(f"no option {name!r}; the options are {list(by_name)}")
            entry = {"name": name, "type": option["type"]}
            if name == focused:
                if not option.get("autocomplete"):
                    raise FakeDiscordError(f"option {name!r} has no autocomplete; Discord would not ask the bot")
                entry["value"] = value if isinstance(value, str) else str(value)
                entry["focused"] = True
            else:
                entry["value"] = self._option_value(option, value, resolved, guild)
            built.append(entry)
        if focused is None:
            missing = [o["name"] for o in schema if o.get("required") and o["name"] not in values]
            if missing:
                raise FakeDiscordError(f"required options missing: {missing}")
        return built

    def _option_value(self, option: JSON, value: Any, resolved: JSON, guild: FakeGuild) -> Any:
        name, otype = option["name"], option["type"]

        def need(ok: bool, what: str) -> None:
            if not ok:
                raise FakeDiscordError(f"option {name!r} needs {what}, got {value!r}")

        if otype == 3:
            need(isinstance(value, str), "a str")
            need(option.get("min_length", 0) <= len(value) <= option.get("max_length", 6000), "a length in range")
        elif otype == 4:
            need(isinstance(value, int) and not isinstance(value, bool), "an int")
        elif otype == 10:
            need(isinstance(value, int | float) and not isinstance(value, bool), "a number")
        elif otype == 5:
            need(isinstance(value, bool), "a bool")
        if otype in (4, 10):
            need(option.get("min_value", value) <= value <= option.get("max_value", value), "a value in range")
        if otype in (3, 4, 10) and option.get("choices"):
            need(value in [c["value"] for c in option["choices"]], f"one of the choices {option['choices']}")
        if otype in (3, 4, 5, 10):
            return value
        if otype in (6, 9) and isinstance(value, FakeUser | int) and not isinstance(value, bool):
            user = self._user_arg(value)
            resolved.setdefault("users", {})[str(user.id)] = user.payload()
            member = guild.members.get(user.id)
            if member is not None:
                resolved.setdefault("members", {})[str(user.id)] = member.payload(
                    with_user=False, permissions=guild.permissions_for(user.id)
                )
            return str(user.id)
        if otype in (8, 9) and isinstance(value, FakeRole):
            resolved.setdefault("roles", {})[str(value.id)] = value.payload()
            return str(value.id)
        if otype == 7 and isinstance(value, FakeChannel | int):
            chan = self._channel_arg(value)
            types = option.get("channel_types")
            need(types is None or chan.type in types, f"a channel of types {types}")
            data = chan.payload()
            data["permissions"] = str(guild.permissions_for(self.bot_user.id))
            resolved.setdefault("channels", {})[str(chan.id)] = data
            return str(chan.id)
        if otype == 11 and isinstance(value, FakeAttachment):
            attachment = value.payload()
            attachment["ephemeral"] = True
            resolved.setdefault("attachments", {})[str(value.id)] = attachment
            return str(value.id)
        raise FakeDiscordError(f"option {name!r} (type {otype}) cannot take {value!r}")

    def _find_component(self, msg: JSON, custom_id: str | None, label: str | None, types: tuple[int, ...]) -> JSON:
        if custom_id is None and label is None:
            raise FakeDiscordError("give a custom_id or a label")
        candidates = [c for c in _walk_components(msg.get("components") or []) if c.get("type") in types]
        for component in candidates:
            if (custom_id is None or component.get("custom_id") == custom_id) and (
                label is None or component.get("label") == label
            ):
                return component
        found = [(c.get("custom_id"), c.get("label")) for c in candidates]
        raise FakeDiscordError(f"message {msg['id']} has no component {custom_id or label!r}; it has {found}")

    def _find_modal(self, custom_id: str | None) -> FakeInteraction:
        opened = [
            i
            for i in self.interactions.values()
            if i.callback is not None and i.callback.type == MODAL and i.callback.data
        ]
        for interaction in reversed(opened):
            assert interaction.callback is not None and interaction.callback.data is not None
            if custom_id is None or interaction.callback.data.get("custom_id") == custom_id:
                return interaction
        shown = [i.callback.data.get("custom_id") for i in opened if i.callback and i.callback.data]
        raise FakeDiscordError(f"the bot never opened a modal {custom_id!r} (opened: {shown})")

    def _modal_submission(self, components: list[JSON], values: dict[str, str | list[str]]) -> list[JSON]:
        submitted: list[JSON] = []
        for component in components:
            ctype = component.get("type")
            if ctype == 1:
                inner = self._modal_submission(component.get("components", []), values)
                submitted.append({"type": 1, "components": inner})
            elif ctype == 18:
                inner = self._modal_submission([component["component"]], values)
                if inner:
                    submitted.append({"type": 18, "component": inner[0]})
            elif ctype == 4:
                cid = component["custom_id"]
                text = values.pop(cid, component.get("value") or "")
                if not isinstance(text, str):
                    raise FakeDiscordError(f"text input {cid!r} takes a str")
                if component.get("required", True) and not text:
                    raise FakeDiscordError(f"text input {cid!r} is required")
                low, high = component.get("min_length", 0), component.get("max_length", 4000)
                if text and not low <= len(text) <= high:
                    raise FakeDiscordError(f"text input {cid!r} takes {low}..{high} characters, got {len(text)}")
                submitted.append({"type": 4, "custom_id": cid, "value": text})
            elif ctype in (3, 5, 6, 7, 8):
                cid = component["custom_id"]
                picked = values.pop(cid, [])
                submitted.append({"type": ctype, "custom_id": cid, "values": list(picked)})
        return submitted

    # ---- argument helpers -------------------------------------------------------------------

    def _user_arg(self, user: FakeUser | int) -> FakeUser:
        uid = user.id if isinstance(user, FakeUser) else int(user)
        if uid not in self.world.users:
            raise FakeDiscordError(f"unknown user {uid}")
        return self.world.users[uid]

    def _channel_arg(self, channel: FakeChannel | int | None) -> FakeChannel:
        if channel is None:
            return self.general
        cid = channel.id if isinstance(channel, FakeChannel) else int(channel)
        found = self.channel(cid)
        if found is None:
            raise FakeDiscordError(f"unknown channel {cid}")
        return found

    def _guild_id(self, guild: FakeGuild | int | None) -> int | None:
        return guild.id if isinstance(guild, FakeGuild) else guild

    def _message_arg(self, message: JSON | int) -> JSON:
        mid = int(message["id"]) if isinstance(message, dict) else int(message)
        if mid not in self._messages:
            raise FakeDiscordError(f"unknown (or deleted) message {mid}")
        return self._messages[mid]

    def _snowflake(self) -> int:
        value = ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(self._counter) & 0xFFF)
        value = max(value, self._last_snowflake + 1)
        self._last_snowflake = value
        return value

    # ---- gateway ----------------------------------------------------------------------------

    def _ready_sockets(self) -> list[_GatewayConnection]:
        return [c for c in self._sockets if c.ready and not c.ws.closed]

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(compress=False, max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        conn = _GatewayConnection(ws, request.query)
        self._sockets.append(conn)
        try:
            await conn.send(10, {"heartbeat_interval": self.heartbeat_interval_ms})
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    await conn.close(4002, "Decode error.")
                    break
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    await conn.close(4002, "Decode error.")
                    break
                await self._on_gateway_message(conn, payload)
        finally:
            conn.ready = False
            self._sockets.remove(conn)
            self._notify()
        return ws

    async def _on_gateway_message(self, conn: _GatewayConnection, payload: JSON) -> None:
        op, d = payload.get("op"), payload.get("d")
        if op == 1:
            await conn.send(11, None)
        elif op == 2:
            await self._identify(conn, d or {})
        elif op == 6:
            # RESUME is not supported: invalidate the session so discord.py identifies again.
            await conn.send(9, False)
        elif not conn.identified and op in (3, 4, 8):
            await conn.close(4003, "Not authenticated.")
        elif op == 8:
            await self._request_members(conn, d or {})
        elif op in (3, 4):
            pass  # presence and voice state updates are accepted and ignored
        else:
            await conn.close(4001, "Unknown opcode.")

    async def _identify(self, conn: _GatewayConnection, d: JSON) -> None:
        self.identifies.append(d)
        if conn.identified:
            await conn.close(4005, "Already authenticated.")
            return
        if d.get("token") != self.valid_token:
            await conn.close(4004, "Authentication failed.")
            return
        intents = int(d.get("intents", 0))
        denied = [n for n, bit in PRIVILEGED_INTENTS.items() if intents & bit and n not in self.privileged_intents]
        if denied:
            await conn.close(4014, "Disallowed intent(s).")
            return
        shard = d.get("shard", [0, 1])
        if not _valid_shard(shard):
            await conn.close(4010, "Invalid shard.")
            return
        conn.shard = (int(shard[0]), int(shard[1]))
        conn.intents = intents
        conn.identified = True
        conn.session_id = secrets.token_hex(16)
        guilds = [g for g in self.world.guilds.values() if conn.receives(g.id)]
        me = self.bot_user.payload() | {"verified": True, "mfa_enabled": False, "flags": 0, "locale": "en-US"}
        ready: JSON = {
            "v": 10,
            "user": me,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": conn.session_id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": self._application_flags()},
            "private_channels": [],
            "user_settings": {},
            "presences": [],
            "relationships": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "_trace": ["fake-discord"],
        }
        if "shard" in d:
            ready["shard"] = list(conn.shard)
        await conn.send(0, ready, "READY")
        if intents & INTENT_GUILDS:
            for guild in guilds:
                await conn.send(0, self._guild_create_payload(guild, intents), "GUILD_CREATE")
        conn.ready = True
        self._notify()

    def _application_flags(self) -> int:
        flags = 0
        for name in self.privileged_intents:
            flags |= _INTENT_APP_FLAGS[name]
        return flags

    def _guild_create_payload(self, guild: FakeGuild, intents: int) -> JSON:
        # Without the presences intent Discord only lists the bot itself (and voice users) here;
        # with the members intent discord.py then asks for the rest with REQUEST_GUILD_MEMBERS.
        members = [
            m.payload()
            for m in guild.members.values()
            if intents & INTENT_GUILD_PRESENCES or m.user.id == self.bot_user.id
        ]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "features": [],
            "emojis": [],
            "stickers": [],
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "max_members": 500_000,
            "joined_at": guild.joined_at,
            "large": False,
            "unavailable": False,
            "member_count": len(guild.members),
            "roles": [r.payload() for r in guild.roles.values()],
            "channels": [{k: v for k, v in c.payload().items() if k != "guild_id"} for c in guild.text_channels],
            "threads": [t.payload() for t in guild.threads if not t.archived],
            "members": members,
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    async def _request_members(self, conn: _GatewayConnection, d: JSON) -> None:
        if not conn.intents & INTENT_GUILD_MEMBERS:
            await conn.close(4013, "Invalid intent(s).")  # Discord needs the members intent for this
            return
        guild_ids = d.get("guild_id")
        for gid in guild_ids if isinstance(guild_ids, list) else [guild_ids]:
            guild = self.world.guilds.get(int(gid or 0))
            if guild is None:
                continue
            members = list(guild.members.values())
            if d.get("user_ids"):
                wanted = {int(u) for u in d["user_ids"]}
                members = [m for m in members if m.user.id in wanted]
            elif d.get("query"):
                members = [m for m in members if m.user.username.lower().startswith(d["query"].lower())]
            if d.get("limit"):
                members = members[: int(d["limit"])]
            chunk: JSON = {
                "guild_id": str(guild.id),
                "members": [m.payload() for m in members],
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
            }
            if d.get("nonce"):
                chunk["nonce"] = d["nonce"]
            await conn.send(0, chunk, "GUILD_MEMBERS_CHUNK")

    # ---- messages ---------------------------------------------------------------------------

    def _base_message(self, channel: FakeChannel, author: FakeUser, *, content: str, message_type: int) -> JSON:
        msg: JSON = {
            "id": str(self._snowflake()),
            "channel_id": str(channel.id),
            "author": author.payload(),
            "content": content,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": message_type,
            "flags": 0,
        }
        if channel.guild_id is not None:
            msg["guild_id"] = str(channel.guild_id)
            member = self.world.guilds[channel.guild_id].members.get(author.id)
            if member is not None:
                msg["member"] = member.payload(with_user=False)
        return msg

    def _mention_payload(self, user_id: int, channel: FakeChannel) -> JSON:
        user = self.world.users[user_id]
        data = user.payload()
        if channel.guild_id is not None:
            member = self.world.guilds[channel.guild_id].members.get(user_id)
            if member is not None:
                data["member"] = member.payload(with_user=False)
        return data

    def _store_message(self, msg: JSON, channel: FakeChannel) -> None:
        self._messages[int(msg["id"])] = msg
        self.messages_log.append(msg)
        channel.last_message_id = int(msg["id"])
        channel.message_count += 1
        self._notify()

    async def _broadcast_message(self, event: str, msg: JSON, channel: FakeChannel) -> None:
        """MESSAGE_CREATE / MESSAGE_UPDATE to every bot that may see it, content blanked as Discord does."""
        if msg["flags"] & FLAG_EPHEMERAL:
            return
        intent = INTENT_DIRECT_MESSAGES if channel.guild_id is None else INTENT_GUILD_MESSAGES
        bot_id = str(self.bot_user.id)
        for conn in self._ready_sockets():
            if not conn.intents & intent or not conn.receives(channel.guild_id):
                continue
            data = dict(msg)
            sees_content = (
                conn.intents & INTENT_MESSAGE_CONTENT
                or channel.guild_id is None
                or data["author"]["id"] == bot_id
                or any(m["id"] == bot_id for m in data.get("mentions", []))
            )
            if not sees_content:
                data.update(content="", embeds=[], attachments=[], components=[])
            await conn.send(0, data, event)

    def _validate_message(self, payload: JSON, files: int, *, creating: bool) -> None:
        """Discord's limits on content, embeds and components; raises _Invalid with a 400."""
        content = payload.get("content") or ""
        if len(content) > MAX_CONTENT:
            raise _Invalid(_invalid(["content"], "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length."))
        flags = int(payload.get("flags") or 0)
        embeds = payload.get("embeds") or []
        if len(embeds) > MAX_EMBEDS:
            raise _Invalid(_invalid(["embeds"], "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length."))
        total = 0
        for i, embed in enumerate(embeds):
            limits = {"title": 256, "description": MAX_EMBED_DESCRIPTION}
            for key, limit in limits.items():
                text = embed.get(key) or ""
                total += len(text)
                if len(text) > limit:
                    raise _Invalid(
                        _invalid(["embeds", i, key], "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
                    )
            fields = embed.get("fields") or []
            if len(fields) > MAX_EMBED_FIELDS:
                raise _Invalid(_invalid(["embeds", i, "fields"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer."))
            for j, fld in enumerate(fields):
                for key, limit in (("name", 256), ("value", 1024)):
                    text = fld.get(key) or ""
                    total += len(text)
                    if not text or len(text) > limit:
                        raise _Invalid(
                            _invalid(
                                ["embeds", i, "fields", j, key], "BASE_TYPE_BAD_LENGTH", f"Must be 1..{limit} long."
                            )
                        )
            for key, inner, limit in (("footer", "text", 2048), ("author", "name", 256)):
                text = (embed.get(key) or {}).get(inner) or ""
                total += len(text)
                if len(text) > limit:
                    raise _Invalid(_invalid(["embeds", i, key, inner], "BASE_TYPE_MAX_LENGTH", f"Max {limit}."))
        if total > MAX_EMBED_TOTAL:
            raise _Invalid(_invalid(["embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"))
        components = payload.get("components") or []
        if flags & FLAG_COMPONENTS_V2:
            if content or embeds:
                raise _Invalid(_invalid(["content"], "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2", "V2"))
        else:
            self._validate_action_rows(components)
        extras = payload.get("sticker_ids") or payload.get("poll")
        if creating and not (content or embeds or files or components or extras):
            raise _Invalid(_error(400, 50006, "Cannot send an empty message"))

    def _validate_action_rows(self, rows: list[JSON]) -> None:
        if len(rows) > MAX_ACTION_ROWS:
            raise _Invalid(_invalid(["components"], "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length."))
        seen: set[str] = set()
        for i, row in enumerate(rows):
            items = row.get("components") or []
            if row.get("type") != 1 or not 1 <= len(items) <= 5:
                raise _Invalid(_invalid(["components", i], "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "Bad action row."))
            if any(c.get("type") != 2 for c in items) and len(items) > 1:
                raise _Invalid(_invalid(["components", i], "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "A select fills a row."))
            for j, item in enumerate(items):
                where: list[str | int] = ["components", i, "components", j]
                if len(item.get("label") or "") > 80:
                    raise _Invalid(_invalid([*where, "label"], "BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer."))
                if item.get("type") == 2 and item.get("style") == 5:
                    if not item.get("url"):
                        raise _Invalid(_invalid([*where, "url"], "BASE_TYPE_REQUIRED", "A link button needs a url."))
                    continue
                custom_id = item.get("custom_id") or ""
                if not 1 <= len(custom_id) <= 100:
                    raise _Invalid(_invalid([*where, "custom_id"], "BASE_TYPE_BAD_LENGTH", "Must be 1..100 long."))
                if custom_id in seen:
                    raise _Invalid(_invalid([*where, "custom_id"], "COMPONENT_CUSTOM_ID_DUPLICATED", "Duplicated."))
                seen.add(custom_id)

    def _attachments_for(self, payload: JSON, files: list[RecordedFile], keep: list[JSON]) -> list[JSON]:
        """Attachment objects for uploaded `files` (matched to payload["attachments"]) plus kept old ones."""
        uploads: dict[str, RecordedFile] = {}
        for index, upload in enumerate(files):
            match = re.fullmatch(r"files\[(\d+)\]", upload.form_name)
            uploads[match.group(1) if match else str(index)] = upload
        listed = payload.get("attachments")
        old = {a["id"]: a for a in keep}
        result: list[JSON] = []
        if listed is None:
            result.extend(keep)
            listed = [{"id": key} for key in uploads]
        for entry in listed:
            key = str(entry.get("id"))
            if key in old and key not in uploads:
                result.append(old[key])
                continue
            found = uploads.get(key)
            if found is None:
                raise _Invalid(_invalid(["attachments", key], "ATTACHMENT_NOT_FOUND", "Unknown attachment."))
            att = self.attachment(
                entry.get("filename") or found.filename,
                found.data,
                content_type=found.content_type,
                description=entry.get("description"),
            )
            result.append(att.payload())
        return result

    def _bot_message(
        self, channel: FakeChannel, payload: JSON, files: list[RecordedFile], *, message_type: int = 0
    ) -> JSON:
        content = payload.get("content") or ""
        msg = self._base_message(channel, self.bot_user, content=content, message_type=message_type)
        self._apply_fields(msg, payload, files, channel)
        msg["tts"] = bool(payload.get("tts", False))
        if payload.get("nonce") is not None:
            msg["nonce"] = payload["nonce"]
        reference = payload.get("message_reference")
        if reference:
            ref = self._messages.get(int(reference["message_id"]))
            if ref is None and reference.get("fail_if_not_exists", True):
                raise _Invalid(_invalid(["message_reference"], "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"))
            msg["type"] = 19
            msg["message_reference"] = {**reference, "type": reference.get("type", 0)}
            msg["referenced_message"] = None if ref is None else _snapshot(ref)
        return msg

    def _apply_fields(self, msg: JSON, payload: JSON, files: list[RecordedFile], channel: FakeChannel) -> None:
        for key in ("content", "embeds", "components"):
            if key in payload:
                msg[key] = payload[key] or ("" if key == "content" else [])
        msg["embeds"] = [{"type": "rich", **e} for e in msg["embeds"]]
        if payload.get("flags") is not None:
            # Whether a message is ephemeral is fixed when it is created.
            keep = msg["flags"] & (FLAG_EPHEMERAL | FLAG_LOADING | FLAG_HAS_THREAD)
            msg["flags"] = keep | (int(payload["flags"]) & _SETTABLE_MESSAGE_FLAGS & ~FLAG_EPHEMERAL)
        if "attachments" in payload or files:
            msg["attachments"] = self._attachments_for(payload, files, msg.get("attachments", []))
        msg["mentions"] = self._allowed_mentions(msg["content"], payload.get("allowed_mentions"), channel)

    def _allowed_mentions(self, content: str, allowed: JSON | None, channel: FakeChannel) -> list[JSON]:
        ids = [int(m) for m in _MENTION.findall(content or "")]
        if allowed is not None and "users" not in (allowed.get("parse") or []):
            explicit = {int(u) for u in allowed.get("users") or []}
            ids = [i for i in ids if i in explicit]
        return [self._mention_payload(i, channel) for i in dict.fromkeys(ids) if i in self.world.users]

    def _edit_message(self, msg: JSON, payload: JSON, files: list[RecordedFile]) -> JSON:
        channel = self._channel_arg(int(msg["channel_id"]))
        edited = dict(msg)
        self._apply_fields(edited, payload, files, channel)
        edited["edited_timestamp"] = _now_iso()
        if not (edited["content"] or edited["embeds"] or edited["attachments"] or edited["components"]):
            raise _Invalid(_error(400, 50006, "Cannot send an empty message"))
        msg.clear()
        msg.update(edited)
        self._notify()
        return msg

    # ---- HTTP plumbing ----------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path == "/gateway":
            return await handler(request)
        path = request.path[len(API_PREFIX) :] if request.path.startswith(API_PREFIX + "/") else request.path
        body, files = await self._read_body(request)
        headers = {k: v for k, v in request.headers.items() if k.lower() in _RECORDED_HEADERS}
        record = RecordedRequest(request.method, path, dict(request.query), body, files, headers)
        self.requests.append(record)
        request[_RECORD] = record
        fault = next((f for f in self._faults if f.matches(request.method, path)), None)
        if fault is not None:
            fault.remaining -= 1
            response: web.StreamResponse = self._fault_response(fault, path)
        else:
            try:
                response = await handler(request)
            except _Invalid as exc:
                response = exc.response
            except web.HTTPException as exc:
                response = _error(exc.status, 0, f"{exc.status}: {exc.reason}")
        record.status = response.status
        if isinstance(response, web.Response) and response.body is not None and response.content_type.endswith("json"):
            assert isinstance(response.body, bytes)
            record.response = json.loads(response.body)
        self._notify()
        return response

    async def _read_body(self, request: web.Request) -> tuple[Any, list[RecordedFile]]:
        if request.content_type.startswith("multipart/"):
            payload: Any = None
            files: list[RecordedFile] = []
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, aiohttp.BodyPartReader):
                    continue
                raw = bytes(await part.read(decode=False))
                if part.name == "payload_json":
                    payload = json.loads(raw)
                elif part.filename is not None:
                    ctype = part.headers.get("Content-Type", "application/octet-stream")
                    files.append(RecordedFile(part.name or "", part.filename, ctype, len(raw), raw))
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        if request.content_type == "application/json":
            return json.loads(raw), []
        return raw.decode("utf-8", errors="replace"), []

    def _fault_response(self, fault: _Fault, path: str) -> web.Response:
        if fault.status != 429:
            return _error(fault.status, 0, f"{fault.status}: injected by the fake for {path}")
        reset = time.time() + fault.retry_after
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(fault.retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{reset:.3f}",
            "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
            "X-RateLimit-Bucket": "fake-" + re.sub(r"\W", "", path)[:24],
            "X-RateLimit-Scope": "global" if fault.is_global else "user",
        }
        if fault.is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {"message": "You are being rate limited.", "retry_after": fault.retry_after, "global": fault.is_global}
        return _json_response(body, status=429, headers=headers)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.valid_token}"

    async def _api(self, request: web.Request) -> web.StreamResponse:
        record = request[_RECORD]
        for route in self._routes:
            match = route.pattern.fullmatch(record.path)
            if match is None or route.method != request.method:
                continue
            if route.bot_auth and not self._authorized(request):
                return _error(401, 0, "401: Unauthorized")
            return await route.handler(request, record, **match.groupdict())
        return _error(404, 0, f"fake Discord has no route for {request.method} {API_PREFIX}{record.path}")

    async def _cdn_file(self, request: web.Request) -> web.StreamResponse:
        att = self._cdn.get(int(request.match_info["attachment_id"]))
        if att is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=att.data, headers={"Content-Type": att.content_type})

    def _build_routes(self) -> list[_ApiRoute]:
        table: list[tuple[str, str, Callable[..., Awaitable[web.StreamResponse]], bool]] = [
            ("GET", r"/users/@me", self._get_me, True),
            ("GET", r"/users/(?P<user_id>\d+)", self._get_user, True),
            ("POST", r"/users/@me/channels", self._create_dm, True),
            ("GET", r"/oauth2/applications/@me", self._get_application, True),
            ("GET", r"/applications/@me", self._get_application, True),
            ("GET", r"/gateway", self._get_gateway, False),
            ("GET", r"/gateway/bot", self._get_gateway_bot, True),
            ("GET", r"/applications/(?P<app_id>\d+)/commands", self._get_commands, True),
            ("PUT", r"/applications/(?P<app_id>\d+)/commands", self._put_commands, True),
            ("GET", r"/applications/(?P<app_id>\d+)/guilds/(?P<guild_id>\d+)/commands", self._get_commands, True),
            ("PUT", r"/applications/(?P<app_id>\d+)/guilds/(?P<guild_id>\d+)/commands", self._put_commands, True),
            ("GET", r"/guilds/(?P<guild_id>\d+)/members/(?P<user_id>\d+)", self._get_member, True),
            ("GET", r"/channels/(?P<channel_id>\d+)", self._get_channel, True),
            ("POST", r"/channels/(?P<channel_id>\d+)/typing", self._typing, True),
            ("GET", r"/channels/(?P<channel_id>\d+)/messages", self._get_messages, True),
            ("POST", r"/channels/(?P<channel_id>\d+)/messages", self._post_message, True),
            ("GET", r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)", self._get_message, True),
            ("PATCH", r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)", self._patch_message, True),
            ("DELETE", r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)", self._delete_message, True),
            ("PUT", _MESSAGE + r"/reactions/[^/]+/@me", self._react, True),
            ("DELETE", _MESSAGE + r"/reactions/[^/]+/@me", self._react, True),
            ("POST", r"/channels/(?P<channel_id>\d+)/threads", self._start_thread, True),
            ("POST", r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)/threads", self._start_thread, True),
            ("PUT", r"/channels/(?P<channel_id>\d+)/thread-members/(?P<user_id>@me|\d+)", self._thread_member, True),
            ("DELETE", r"/channels/(?P<channel_id>\d+)/thread-members/(?P<user_id>@me|\d+)", self._thread_member, True),
            ("POST", r"/interactions/(?P<interaction_id>\d+)/(?P<token>[^/]+)/callback", self._callback, False),
            ("POST", r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)", self._execute_webhook, False),
        ]
        webhook_message = r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)"
        table += [(method, webhook_message, self._webhook_message, False) for method in ("GET", "PATCH", "DELETE")]
        return [_ApiRoute(method, re.compile(pattern), handler, auth) for method, pattern, handler, auth in table]

    # ---- REST handlers ----------------------------------------------------------------------

    async def _get_me(self, request: web.Request, record: RecordedRequest) -> web.StreamResponse:
        me = self.bot_user.payload() | {"verified": True, "mfa_enabled": False, "flags": 0, "locale": "en-US"}
        return _json_response(me)

    async def _get_user(self, request: web.Request, record: RecordedRequest, user_id: str) -> web.StreamResponse:
        user = self.world.users.get(int(user_id))
        return _json_response(user.payload()) if user else _error(404, 10013, "Unknown User")

    async def _create_dm(self, request: web.Request, record: RecordedRequest) -> web.StreamResponse:
        user = self.world.users.get(int((record.json or {}).get("recipient_id", 0)))
        if user is None:
            return _error(400, 50007, "Cannot send messages to this user")
        channel = next((c for c in self._dm_channels.values() if c.recipients[0].id == user.id), None)
        if channel is None:
            channel = FakeChannel(self._snowflake(), "", type=1, recipients=[user])
            self._dm_channels[channel.id] = channel
        return _json_response(channel.payload())

    async def _get_application(self, request: web.Request, record: RecordedRequest) -> web.StreamResponse:
        return _json_response(
            {
                "id": str(self.application_id),
                "name": self.bot_user.username,
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self.admin.payload(),
                "team": None,
                "verify_key": "0" * 64,
                "flags": self._application_flags(),
                "bot": self.bot_user.payload(),
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(self.world.guilds),
                "integration_types_config": {"0": {}},
            }
        )

    async def _get_gateway(self, request: web.Request, record: RecordedRequest) -> web.StreamResponse:
        return _json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request, record: RecordedRequest) -> web.StreamResponse:
        limit = {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1}
        shards = self.recommended_shards
        return _json_response({"url": self.gateway_url, "shards": shards, "session_start_limit": limit})

    def _check_app(self, app_id: str) -> None:
        if int(app_id) != self.application_id:
            raise _Invalid(_error(403, 50001, "Missing Access"))

    async def _get_commands(
        self, request: web.Request, record: RecordedRequest, app_id: str, guild_id: str | None = None
    ) -> web.StreamResponse:
        self._check_app(app_id)
        return _json_response(self._commands.get(int(guild_id) if guild_id else None, []))

    async def _put_commands(
        self, request: web.Request, record: RecordedRequest, app_id: str, guild_id: str | None = None
    ) -> web.StreamResponse:
        self._check_app(app_id)
        gid = int(guild_id) if guild_id else None
        if gid is not None and gid not in self.world.guilds:
            return _error(403, 50001, "Missing Access")
        body = record.json
        if not isinstance(body, list):
            return _invalid([], "LIST_TYPE_CONVERT", "Must be an array.")
        if len(body) > 100:
            return _invalid([], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        previous = {(c["name"], c.get("type", 1)): c["id"] for c in self._commands.get(gid, [])}
        seen: set[tuple[str, int]] = set()
        stored = []
        for index, command in enumerate(body):
            self._validate_command(command, [index])
            key = (command["name"], command.get("type", 1))
            if key in seen:
                return _invalid([index, "name"], "APPLICATION_COMMANDS_DUPLICATE_NAME", "Duplicate name.")
            seen.add(key)
            out = {
                "id": previous.get(key) or str(self._snowflake()),
                "application_id": str(self.application_id),
                "version": str(self._snowflake()),
                "type": command.get("type", 1),
                "name": command["name"],
                "description": command.get("description", ""),
                "options": command.get("options", []),
                "default_member_permissions": command.get("default_member_permissions"),
                "dm_permission": command.get("dm_permission", True),
                "nsfw": command.get("nsfw", False),
                "contexts": command.get("contexts"),
                "integration_types": command.get("integration_types", [0]),
                "name_localizations": command.get("name_localizations"),
                "description_localizations": command.get("description_localizations"),
            }
            if gid is not None:
                out["guild_id"] = str(gid)
            stored.append(out)
        self._commands[gid] = stored
        return _json_response(stored)

    def _validate_command(self, command: JSON, where: list[str | int]) -> None:
        ctype = command.get("type", 1)
        name = command.get("name") or ""
        if not _COMMAND_NAME.fullmatch(name) or (ctype == 1 and name != name.lower()):
            raise _Invalid(_invalid([*where, "name"], "APPLICATION_COMMAND_INVALID_NAME", f"Invalid name {name!r}"))
        if ctype == 1:
            self._validate_options(command.get("options") or [], [*where, "options"], depth=0)
            if not 1 <= len(command.get("description") or "") <= 100:
                raise _Invalid(_invalid([*where, "description"], "BASE_TYPE_BAD_LENGTH", "Must be 1..100 long."))

    def _validate_options(self, options: list[JSON], where: list[str | int], depth: int) -> None:
        if len(options) > 25:
            raise _Invalid(_invalid(where, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."))
        optional_seen = False
        for i, option in enumerate(options):
            here = [*where, i]
            name = option.get("name") or ""
            if not _COMMAND_NAME.fullmatch(name) or name != name.lower():
                raise _Invalid(_invalid([*here, "name"], "APPLICATION_COMMAND_INVALID_NAME", f"Invalid name {name!r}"))
            if not 1 <= len(option.get("description") or "") <= 100:
                raise _Invalid(_invalid([*here, "description"], "BASE_TYPE_BAD_LENGTH", "Must be 1..100 long."))
            if len(option.get("choices") or []) > MAX_CHOICES:
                raise _Invalid(_invalid([*here, "choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer."))
            if option.get("type") in (1, 2):
                if depth >= 2 or (option["type"] == 2 and depth >= 1):
                    raise _Invalid(_invalid([*here, "type"], "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Too deep."))
                self._validate_options(option.get("options") or [], [*here, "options"], depth + 1)
                continue
            if option.get("required"):
                if optional_seen:
                    raise _Invalid(
                        _invalid(
                            [*here, "required"],
                            "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                            "Required options must be placed before non-required options",
                        )
                    )
            else:
                optional_seen = True

    async def _get_member(
        self, request: web.Request, record: RecordedRequest, guild_id: str, user_id: str
    ) -> web.StreamResponse:
        guild = self.world.guilds.get(int(guild_id))
        if guild is None:
            return _error(404, 10004, "Unknown Guild")
        member = guild.members.get(int(user_id))
        return _json_response(member.payload()) if member else _error(404, 10007, "Unknown Member")

    def _channel_or_404(self, channel_id: str) -> FakeChannel:
        channel = self.channel(int(channel_id))
        if channel is None:
            raise _Invalid(_error(404, 10003, "Unknown Channel"))
        return channel

    def _message_or_404(self, channel_id: str, message_id: str) -> JSON:
        msg = self._messages.get(int(message_id))
        if msg is None or msg["channel_id"] != channel_id:
            raise _Invalid(_error(404, 10008, "Unknown Message"))
        return msg

    async def _get_channel(self, request: web.Request, record: RecordedRequest, channel_id: str) -> web.StreamResponse:
        return _json_response(self._channel_or_404(channel_id).payload())

    async def _typing(self, request: web.Request, record: RecordedRequest, channel_id: str) -> web.StreamResponse:
        self._channel_or_404(channel_id)
        return web.Response(status=204)

    async def _get_messages(self, request: web.Request, record: RecordedRequest, channel_id: str) -> web.StreamResponse:
        channel = self._channel_or_404(channel_id)
        limit = int(request.query.get("limit", 50))
        newest_first = list(reversed(self.channel_messages(channel)))
        return _json_response([m for m in newest_first if not m["flags"] & FLAG_EPHEMERAL][:limit])

    async def _post_message(self, request: web.Request, record: RecordedRequest, channel_id: str) -> web.StreamResponse:
        channel = self._channel_or_404(channel_id)
        payload = record.json or {}
        self._validate_message(payload, len(record.files), creating=True)
        msg = self._bot_message(channel, payload, record.files)
        msg["flags"] &= ~FLAG_EPHEMERAL  # only interaction responses can be ephemeral
        self._store_message(msg, channel)
        await self._broadcast_message("MESSAGE_CREATE", msg, channel)
        return _json_response(self._rest_message(msg))

    def _rest_message(self, msg: JSON) -> JSON:
        # REST answers carry no guild_id or member; the gateway's MESSAGE_CREATE does.
        return {k: v for k, v in msg.items() if k not in ("guild_id", "member")}

    async def _get_message(
        self, request: web.Request, record: RecordedRequest, channel_id: str, message_id: str
    ) -> web.StreamResponse:
        return _json_response(self._rest_message(self._message_or_404(channel_id, message_id)))

    async def _patch_message(
        self, request: web.Request, record: RecordedRequest, channel_id: str, message_id: str
    ) -> web.StreamResponse:
        msg = self._message_or_404(channel_id, message_id)
        if msg["author"]["id"] != str(self.bot_user.id):
            return _error(403, 50005, "Cannot edit a message authored by another user")
        payload = record.json or {}
        self._validate_message(payload, len(record.files), creating=False)
        self._edit_message(msg, payload, record.files)
        await self._broadcast_message("MESSAGE_UPDATE", msg, self._channel_or_404(channel_id))
        return _json_response(self._rest_message(msg))

    async def _delete_message(
        self, request: web.Request, record: RecordedRequest, channel_id: str, message_id: str
    ) -> web.StreamResponse:
        msg = self._message_or_404(channel_id, message_id)
        await self._forget_message(msg)
        return web.Response(status=204)

    async def _forget_message(self, msg: JSON) -> None:
        del self._messages[int(msg["id"])]
        self._notify()
        if not msg["flags"] & FLAG_EPHEMERAL:
            data = {"id": msg["id"], "channel_id": msg["channel_id"]}
            if "guild_id" in msg:
                data["guild_id"] = msg["guild_id"]
            await self.dispatch("MESSAGE_DELETE", data, intent=INTENT_GUILD_MESSAGES)

    async def _react(
        self, request: web.Request, record: RecordedRequest, channel_id: str, message_id: str
    ) -> web.StreamResponse:
        self._message_or_404(channel_id, message_id)
        return web.Response(status=204)

    async def _start_thread(
        self, request: web.Request, record: RecordedRequest, channel_id: str, message_id: str | None = None
    ) -> web.StreamResponse:
        parent = self._channel_or_404(channel_id)
        if parent.type not in (0, 5) or parent.guild_id is None:
            return _error(400, 50024, "Cannot execute action on this channel type")
        body = record.json or {}
        name = body.get("name") or ""
        if not 1 <= len(name) <= 100:
            return _invalid(["name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        duration = int(body.get("auto_archive_duration") or 1440)
        if duration not in (60, 1440, 4320, 10080):
            return _invalid(["auto_archive_duration"], "BASE_TYPE_CHOICES", "Must be one of 60, 1440, 4320, 10080.")
        msg = None
        if message_id is not None:
            msg = self._message_or_404(channel_id, message_id)
            if msg["flags"] & FLAG_HAS_THREAD:
                return _error(400, 160004, "A thread has already been created for this message")
            thread_id, thread_type = int(message_id), 11
        else:
            thread_id, thread_type = self._snowflake(), int(body.get("type") or 12)
            if thread_type not in (11, 12):
                return _invalid(["type"], "BASE_TYPE_CHOICES", "Value must be one of {11, 12}.")
        thread = FakeChannel(
            thread_id,
            name,
            type=thread_type,
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=self.bot_user.id,
            auto_archive_duration=duration,
            invitable=bool(body.get("invitable", True)),
            members={self.bot_user.id},
        )
        self.world.guilds[parent.guild_id].channels[thread.id] = thread
        if msg is not None:
            msg["flags"] |= FLAG_HAS_THREAD
            msg["thread"] = thread.payload()
        self._notify()
        await self.dispatch("THREAD_CREATE", thread.payload() | {"newly_created": True}, intent=INTENT_GUILDS)
        return _json_response(thread.payload(), status=201)

    async def _thread_member(
        self, request: web.Request, record: RecordedRequest, channel_id: str, user_id: str
    ) -> web.StreamResponse:
        thread = self._channel_or_404(channel_id)
        if not thread.is_thread:
            return _error(400, 50024, "Cannot execute action on this channel type")
        uid = self.bot_user.id if user_id == "@me" else int(user_id)
        if uid not in self.world.users:
            return _error(404, 10013, "Unknown User")
        if request.method == "PUT":
            thread.members.add(uid)
        else:
            thread.members.discard(uid)
        self._notify()
        return web.Response(status=204)

    # ---- interaction responses and webhooks -------------------------------------------------

    async def _callback(
        self, request: web.Request, record: RecordedRequest, interaction_id: str, token: str
    ) -> web.StreamResponse:
        interaction = self.interactions.get(int(interaction_id))
        if interaction is None or interaction.token != token:
            return _error(404, 10062, "Unknown interaction")
        if interaction.callback is not None:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        body = record.json or {}
        ctype = body.get("type")
        data = body.get("data")
        allowed = _ALLOWED_CALLBACKS.get(interaction.type, set())
        if interaction.type == MODAL_SUBMIT and interaction.message_id is None:
            allowed = allowed - {DEFERRED_UPDATE, UPDATE_MESSAGE}
        if ctype not in allowed:
            return _invalid(["type"], "INTERACTION_RESPONSE_TYPE_INVALID", f"Type {ctype} is not valid here.")
        channel = self._channel_arg(interaction.channel_id)
        message: JSON | None = None
        if ctype == CHANNEL_MESSAGE:
            payload = data or {}
            self._validate_message(payload, len(record.files), creating=True)
            message = self._interaction_message(interaction, channel, payload, record.files)
        elif ctype == DEFERRED_CHANNEL_MESSAGE:
            flags = int((data or {}).get("flags") or 0) & FLAG_EPHEMERAL
            message = self._interaction_message(interaction, channel, {"flags": flags}, [])
            message["flags"] = flags | FLAG_LOADING
            interaction.placeholder_pending = True
        elif ctype in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            interaction.original_message_id = interaction.message_id
            if ctype == UPDATE_MESSAGE:
                target = self._messages.get(interaction.message_id or 0)
                if target is None:
                    return _error(404, 10008, "Unknown Message")
                payload = data or {}
                self._validate_message(payload, len(record.files), creating=False)
                message = self._edit_message(target, payload, record.files)
                await self._broadcast_message("MESSAGE_UPDATE", message, channel)
        elif ctype == AUTOCOMPLETE_RESULT:
            choices = (data or {}).get("choices")
            if not isinstance(choices, list) or len(choices) > MAX_CHOICES:
                return _invalid(["data", "choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
            for i, choice in enumerate(choices):
                if not 1 <= len(str(choice.get("name", ""))) <= 100:
                    return _invalid(["data", "choices", i, "name"], "BASE_TYPE_BAD_LENGTH", "Must be 1..100 long.")
        elif ctype == MODAL:
            modal = data or {}
            if not modal.get("custom_id") or not 1 <= len(modal.get("title") or "") <= 45:
                return _invalid(["data", "title"], "BASE_TYPE_BAD_LENGTH", "A modal needs a custom_id and a title.")
            if not 1 <= len(modal.get("components") or []) <= 5:
                return _invalid(["data", "components"], "BASE_TYPE_BAD_LENGTH", "Must be 1..5 in length.")
        if message is not None and ctype in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            interaction.original_message_id = int(message["id"])
            self._store_message(message, channel)
            await self._broadcast_message("MESSAGE_CREATE", message, channel)
        interaction.callback = Callback(ctype, data, record, None if message is None else dict(message))
        self._notify()
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        answer: JSON = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_loading": ctype == DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": bool(message and message["flags"] & FLAG_EPHEMERAL),
            }
        }
        if message is not None:
            answer["interaction"]["response_message_id"] = message["id"]
            answer["resource"] = {"type": ctype, "message": self._rest_message(message)}
        return _json_response(answer)

    def _interaction_message(
        self, interaction: FakeInteraction, channel: FakeChannel, payload: JSON, files: list[RecordedFile]
    ) -> JSON:
        message_type = 20 if interaction.type == APPLICATION_COMMAND else 0
        msg = self._bot_message(channel, payload, files, message_type=message_type)
        msg["flags"] = int(payload.get("flags") or 0) & _SETTABLE_MESSAGE_FLAGS
        msg["webhook_id"] = str(self.application_id)
        msg["application_id"] = str(self.application_id)
        metadata: JSON = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": interaction.user.payload(),
            "authorizing_integration_owners": interaction.payload.get("authorizing_integration_owners", {}),
        }
        if interaction.type == APPLICATION_COMMAND:
            metadata["name"] = interaction.data.get("name")
        if interaction.message_id is not None:
            metadata["interacted_message_id"] = str(interaction.message_id)
        msg["interaction_metadata"] = metadata
        return msg

    def _interaction_for_webhook(self, app_id: str, token: str) -> FakeInteraction:
        if int(app_id) == self.application_id:
            for interaction in self.interactions.values():
                if interaction.token == token:
                    return interaction
        raise _Invalid(_error(404, 10015, "Unknown Webhook"))

    async def _execute_webhook(
        self, request: web.Request, record: RecordedRequest, app_id: str, token: str
    ) -> web.StreamResponse:
        interaction = self._interaction_for_webhook(app_id, token)
        if interaction.callback is None or interaction.callback.type in (AUTOCOMPLETE_RESULT,):
            # Follow-ups only exist once the interaction was acknowledged.
            return _error(404, 10015, "Unknown Webhook")
        payload = record.json or {}
        self._validate_message(payload, len(record.files), creating=True)
        channel = self._channel_arg(interaction.channel_id)
        thread_id = request.query.get("thread_id")
        if thread_id:
            channel = self._channel_or_404(thread_id)
        if interaction.placeholder_pending and interaction.original_message_id in self._messages:
            # After a "thinking" defer the first follow-up replaces the placeholder.
            msg = self._messages[interaction.original_message_id]
            interaction.placeholder_pending = False
            msg["flags"] &= ~FLAG_LOADING
            self._edit_message(msg, {**payload, "flags": payload.get("flags", msg["flags"])}, record.files)
            await self._broadcast_message("MESSAGE_UPDATE", msg, channel)
        else:
            msg = self._interaction_message(interaction, channel, payload, record.files)
            self._store_message(msg, channel)
            await self._broadcast_message("MESSAGE_CREATE", msg, channel)
        interaction.followups.append(dict(msg))  # as sent; get_message(id) gives its current state
        self._notify()
        if request.query.get("wait", "").lower() in ("1", "true"):
            return _json_response(self._rest_message(msg))
        return web.Response(status=204)

    async def _webhook_message(
        self, request: web.Request, record: RecordedRequest, app_id: str, token: str, message_id: str
    ) -> web.StreamResponse:
        interaction = self._interaction_for_webhook(app_id, token)
        if message_id == "@original":
            mid = interaction.original_message_id
        else:
            mid = int(message_id)
            own = {int(m["id"]) for m in interaction.followups} | {interaction.original_message_id}
            if mid not in own:
                mid = None
        msg = self._messages.get(mid) if mid is not None else None
        if msg is None:
            return _error(404, 10008, "Unknown Message")
        channel = self._channel_arg(int(msg["channel_id"]))
        if request.method == "GET":
            return _json_response(self._rest_message(msg))
        if request.method == "DELETE":
            await self._forget_message(msg)
            return web.Response(status=204)
        payload = record.json or {}
        self._validate_message(payload, len(record.files), creating=False)
        if message_id == "@original" and interaction.placeholder_pending:
            interaction.placeholder_pending = False
            msg["flags"] &= ~FLAG_LOADING
        self._edit_message(msg, payload, record.files)
        await self._broadcast_message("MESSAGE_UPDATE", msg, channel)
        return _json_response(self._rest_message(msg))
