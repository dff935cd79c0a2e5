"""What `config.settings_from_env` refuses at start, each with a message naming the variable: a value that would
otherwise fail later, deep in the app (at the first page, the first mint, the first socket message).

- Any value: no NUL character (a `.env` file can hold one; paths and headers cannot), and valid UTF-8 (Linux hands
  undecodable bytes to Python as lone surrogates, which no JSON encoder, HTTP client or file name accepts).
- The API base URL: http(s) with a host (the WebSocket URL is derived from it).
- What the page and the token mint put into the session: a GA voice, an ISO-639-1 language, instructions and
  prompt within the lengths the Settings dialog allows, model names that fit in a URL query.
- `VOICE_UI_SECRET`: at least 32 characters, as the README asks (it signs the sign-in and browser-id cookies).
- `VOICE_UI_METRICS_TOKEN`: at least 32 characters too (a bearer token anyone reaching the balancer may guess at).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .protocol import VOICES

MAX_INSTRUCTIONS = 16_000  # the Settings dialog's bounds (voice_ui/settings.py), so the page and the mint agree
MAX_PROMPT = 1_000
MAX_URL = 2_000
MIN_SECRET = 32
MODEL = re.compile(r'[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}')


def shown(raw: str) -> str:
    """A refused value as the message quotes it: short, so a huge value does not flood the terminal."""
    return repr(raw if len(raw) <= 40 else raw[:40] + '…')


def check_raw(name: str, raw: str) -> None:
    if '\x00' in raw:
        raise SystemExit(f'{name} contains a NUL character: remove it.')
    try:
        raw.encode('utf-8')
    except UnicodeEncodeError:
        raise SystemExit(f'{name} is not valid UTF-8 text: write it in UTF-8.') from None


def check_values(values: Mapping[str, Any], names: Mapping[str, str]) -> None:
    """`values`: Settings field -> value as read; `names`: field -> its variable (only the variables that were set)."""
    def refuse(attr: str, words: str) -> None:
        raise SystemExit(f'{names[attr]} {words}')

    if 'base_url' in values:
        url = values['base_url']
        if not http_url(url):
            refuse('base_url', f'must be an http:// or https:// URL like https://api.openai.com/v1, got {shown(url)}')
    if 'voice' in values and values['voice'] not in VOICES:
        refuse('voice', f'must be one of {", ".join(VOICES)}, got {shown(values["voice"])}')
    if 'language' in values:
        language = values['language']
        if not (len(language) == 2 and language.isascii() and language.isalpha()):
            refuse('language', f'must be a two-letter ISO-639-1 code such as en, got {shown(language)}')
    for attr, limit in (('instructions', MAX_INSTRUCTIONS), ('transcription_prompt', MAX_PROMPT)):
        if attr in values and len(values[attr]) > limit:
            refuse(attr, f'must be at most {limit} characters long (it has {len(values[attr])})')
    for attr in ('model', 'transcription_model'):
        if attr in values and not MODEL.fullmatch(values[attr]):
            refuse(attr, f'must be a model name (letters, digits and ._:/-, at most 200), got {shown(values[attr])}')
    for attr in ('secret', 'metrics_token'):  # never quoted: the message must not print a secret
        if attr in values and len(values[attr]) < MIN_SECRET:
            refuse(attr, f'must have at least {MIN_SECRET} characters (it has {len(values[attr])}; e.g. python -c '
                         '"import secrets; print(secrets.token_urlsafe(32))")')


def http_url(url: str) -> bool:
    try:
        parts = urlsplit(url) if len(url) <= MAX_URL and url.isprintable() else None
        return parts is not None and parts.scheme in ('http', 'https') and bool(parts.hostname) and \
            (parts.port is None or parts.port > 0)
    except ValueError:  # e.g. an unclosed [IPv6 literal, or a port that is no number
        return False
