"""Settings: environment, then an optional `.env` file, then command-line flags. The API key is never printed.

Every variable (these settings and the speech/chat ones read in `voice_ui.speech`) is read through
`environment()`: a real environment variable wins over the same name in `.env` (python-dotenv's rule).
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from dotenv import dotenv_values

from .config_checks import check_raw, check_values, shown
from .protocol import TurnDetection
from .tools import ToolLoadError, Toolbox

OPENAI_BASE_URL = 'https://api.openai.com/v1'
DEFAULT_INSTRUCTIONS = ('You are a friendly, concise voice assistant. Answer in one or two short sentences '
                        'unless the person asks for more.')


@dataclass(frozen=True)
class Settings:
    api_key: str | None = field(default=None, repr=False)  # repr=False: a stray print or log never leaks it
    base_url: str = OPENAI_BASE_URL
    model: str = 'gpt-realtime'
    voice: str = 'cedar'
    transcription_model: str = 'gpt-4o-mini-transcribe'
    language: str = 'en'
    transcription_prompt: str = ''
    instructions: str = DEFAULT_INSTRUCTIONS
    turn_detection: TurnDetection = TurnDetection.SERVER_VAD  # what hands-free mode uses (server_vad | semantic_vad)
    token_ttl_s: int = 60
    # Sessions that outlive their limit (assets/session-renewal.js): the browser renews the Realtime session before
    # its cap and after a drop, replaying the newest turns (at most this many, this many characters) as text.
    max_conversation_minutes: int = 240  # then the conversation ends (with a notice) instead of being renewed
    replay_turns: int = 40
    replay_chars: int = 16_000
    record_audio_minutes: int = 30  # the audio download's cap: the browser keeps this much of both sides (0: none)
    host: str = '127.0.0.1'
    port: int = 8080
    native: bool = False
    local: bool = False  # force the embedded server even when a key is set
    open_browser: bool = True
    # Access (voice_ui/access): who may use the page, from which names, and how much
    password: str | None = field(default=None, repr=False)  # one shared password
    users_file: str = ''         # `name:scrypt-hash` lines (python -m voice_ui.users add NAME)
    auth_header: str = ''        # e.g. X-Forwarded-User, believed only from trusted_proxies
    trusted_proxies: str = ''    # comma-separated addresses or CIDRs of the reverse proxy
    allowed_hosts: str = ''      # comma-separated extra Host names (loopback names are always allowed)
    session_hours: int = 12      # a sign-in lasts this long
    mints_per_minute: int = 10   # per person (or per client address when anonymous)
    max_sessions: int = 3        # voice sessions open at once, per person (or client address)
    public: bool = False         # serve an OpenAI key beyond loopback without authentication, knowingly
    # Replicas (README "Scaling out"): shared state in Redis, one signing secret, metrics for the operator
    redis_url: str = field(default='', repr=False)  # NICEGUI_REDIS_URL: NiceGUI's storage and access state
    secret: str = field(default='', repr=False)     # signs cookies; the same on every replica
    metrics_token: str = field(default='', repr=False)  # /metrics beyond loopback needs `Bearer <token>`
    replica: str = ''            # this replica's name in /healthz and metrics (default: the host name)
    browser_realtime_url: str = ''  # where browsers open the Realtime socket, when not OPENAI_BASE_URL's (balancer)
    tools: Toolbox = field(default_factory=Toolbox, compare=False)  # what the agent may call (`--tools`)

    def __post_init__(self) -> None:
        if not isinstance(self.tools, Toolbox):  # e.g. Settings(tools=[set_lights]): any iterable of @tool functions
            object.__setattr__(self, 'tools', Toolbox(self.tools))

    @property
    def uses_embedded_server(self) -> bool:
        return self.local or not self.api_key

    @property
    def ws_url(self) -> str:
        """The Realtime WebSocket endpoint derived from the HTTP base URL (http→ws, https→wss)."""
        scheme, rest = self.base_url.rstrip('/').split('://', 1)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/realtime"

    @property
    def renewal(self) -> dict:
        """The browser component's renewal options (camelCase: they are a JS object)."""
        return {'maxConversationMs': self.max_conversation_minutes * 60_000, 'replayTurns': self.replay_turns,
                'replayChars': self.replay_chars}

    def with_embedded_server(self, api_key: str) -> Settings:
        """The same settings pointed at the embedded server mounted on this app's own port."""
        host = '127.0.0.1' if self.host in {'0.0.0.0', '::', ''} else self.host
        return replace(self, api_key=api_key, base_url=f'http://{host}:{self.port}/v1', local=True)


ENV_FIELDS = {  # environment variable -> (field, type)
    'OPENAI_API_KEY': ('api_key', str),
    'OPENAI_BASE_URL': ('base_url', str),
    'VOICE_UI_MODEL': ('model', str),
    'VOICE_UI_VOICE': ('voice', str),
    'VOICE_UI_TRANSCRIPTION_MODEL': ('transcription_model', str),
    'VOICE_UI_LANGUAGE': ('language', str),
    'VOICE_UI_TRANSCRIPTION_PROMPT': ('transcription_prompt', str),
    'VOICE_UI_INSTRUCTIONS': ('instructions', str),
    'VOICE_UI_TURN_DETECTION': ('turn_detection', TurnDetection),
    'VOICE_UI_TOKEN_TTL': ('token_ttl_s', int),
    'VOICE_UI_MAX_CONVERSATION_MINUTES': ('max_conversation_minutes', int),
    'VOICE_UI_REPLAY_TURNS': ('replay_turns', int),
    'VOICE_UI_REPLAY_CHARS': ('replay_chars', int),
    'VOICE_UI_RECORD_AUDIO_MINUTES': ('record_audio_minutes', int),
    'VOICE_UI_PASSWORD': ('password', str),
    'VOICE_UI_USERS_FILE': ('users_file', str),
    'VOICE_UI_AUTH_HEADER': ('auth_header', str),
    'VOICE_UI_TRUSTED_PROXIES': ('trusted_proxies', str),
    'VOICE_UI_ALLOWED_HOSTS': ('allowed_hosts', str),
    'VOICE_UI_SESSION_HOURS': ('session_hours', int),
    'VOICE_UI_MINTS_PER_MINUTE': ('mints_per_minute', int),
    'VOICE_UI_MAX_SESSIONS': ('max_sessions', int),
    'NICEGUI_REDIS_URL': ('redis_url', str),
    'VOICE_UI_SECRET': ('secret', str),
    'VOICE_UI_METRICS_TOKEN': ('metrics_token', str),
    'VOICE_UI_REPLICA': ('replica', str),
    'VOICE_UI_BROWSER_REALTIME_URL': ('browser_realtime_url', str),
}
LIMITS = {  # integer settings and the range each must lie in
    'VOICE_UI_TOKEN_TTL': ('token_ttl_s', 10, 7200),
    'VOICE_UI_MAX_CONVERSATION_MINUTES': ('max_conversation_minutes', 1, 7 * 24 * 60),
    'VOICE_UI_REPLAY_TURNS': ('replay_turns', 0, 500),
    'VOICE_UI_REPLAY_CHARS': ('replay_chars', 0, 200_000),
    'VOICE_UI_RECORD_AUDIO_MINUTES': ('record_audio_minutes', 0, 180),  # the browser holds it in memory
    'VOICE_UI_SESSION_HOURS': ('session_hours', 1, 24 * 90),
    'VOICE_UI_MINTS_PER_MINUTE': ('mints_per_minute', 1, 10_000),
    'VOICE_UI_MAX_SESSIONS': ('max_sessions', 1, 10_000),
}


DOTENV = Path('.env')  # in the working directory, as python-dotenv and most tools look for it


def read_dotenv(path: Path) -> dict[str, str]:
    """The KEY=VALUE entries of a `.env` file (python-dotenv's syntax: comments, quotes, `export `, ${VAR})."""
    if not path.is_file():
        return {}
    try:
        values = dotenv_values(path, encoding='utf-8')
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f'cannot read {path}: {exc}. Fix or remove the file.') from exc
    return {key: value for key, value in values.items() if value is not None}  # a bare `KEY` line sets nothing


def environment(environ: Mapping[str, str] | None = None, dotenv: Path | None = DOTENV) -> dict[str, str]:
    """The variables voice-ui reads: `environ` (default: the process environment) over the `.env` entries."""
    return {**(read_dotenv(dotenv) if dotenv else {}), **(os.environ if environ is None else environ)}


def settings_from_env(environ: Mapping[str, str] | None = None, dotenv: Path | None = DOTENV) -> Settings:
    merged = environment(environ, dotenv)
    values, names = {}, {}
    for name, (attr, kind) in ENV_FIELDS.items():
        raw = merged.get(name, '').strip()
        if raw:
            check_raw(name, raw)
            try:
                values[attr], names[attr] = kind(raw), name
            except ValueError as exc:
                expected = ' or '.join(kind) if kind is TurnDetection else kind.__name__
                raise SystemExit(f'{name} must be {expected}, got {shown(raw)}') from exc
    check_values(values, names)  # what would otherwise fail at the first page or mint (config_checks.py)
    settings = Settings(**values)
    for name, (attr, low, high) in LIMITS.items():
        if not low <= getattr(settings, attr) <= high:
            raise SystemExit(f'{name} must be between {low} and {high}')
    return settings


def parse_args(argv: list[str] | None = None, base: Settings | None = None) -> Settings:
    base = base or settings_from_env()
    parser = argparse.ArgumentParser(prog='python main.py', description=(
        'Talk to an OpenAI Realtime voice agent from your browser. Without OPENAI_API_KEY (environment or .env) '
        'the embedded Realtime-compatible server answers instead.'))
    parser.add_argument('--host', default=base.host, help='interface to serve on (default: %(default)s)')
    parser.add_argument('--port', type=int, default=base.port, help='port to serve on (default: %(default)s)')
    parser.add_argument('--native', action='store_true', help='open a native window instead of a browser tab')
    parser.add_argument('--local', action='store_true',
                        help='use the embedded Realtime-compatible server even when OPENAI_API_KEY is set')
    parser.add_argument('--no-browser', action='store_true', help='do not open a browser tab on start')
    parser.add_argument('--public', action='store_true',
                        help='serve an OpenAI key beyond loopback WITHOUT authentication (anyone who reaches '
                             'the page spends your key); see README "Serving to others"')
    parser.add_argument('--tools', action='append', default=[], metavar='MODULE',
                        help='let the agent call every @tool in MODULE (an import name or a .py file; repeatable)')
    parser.add_argument('--example-tools', action='store_true',
                        help='let the agent call the built-in example tools (time in a time zone, timers)')
    args = parser.parse_args(argv)
    tools = base.tools
    if args.tools or args.example_tools:
        try:
            tools = Toolbox.from_modules(args.tools, examples=args.example_tools, base=base.tools)
        except ToolLoadError as error:
            parser.error(str(error))
    return replace(base, host=args.host, port=args.port, native=args.native, local=args.local or base.local,
                   open_browser=not args.no_browser, public=args.public or base.public, tools=tools)
