"""Builders for server events: every dict here must validate against openai's `RealtimeServerEvent`."""
from __future__ import annotations

import itertools
import math

from ..protocol import ServerEvent
from .actions import audio_ms
from .server_conversation import Item, words  # noqa: F401 (words: re-exported for the engine)
from .tokens import new_id

USER_AUDIO_MS_PER_TOKEN = 100
AGENT_AUDIO_MS_PER_TOKEN = 50
CHARS_PER_TEXT_TOKEN = 4
RATE_LIMITS = [{'name': 'requests', 'limit': 5000, 'remaining': 4999, 'reset_seconds': 0.012},
               {'name': 'tokens', 'limit': 20000, 'remaining': 18000, 'reset_seconds': 5.4}]


# Event ids are unique, not secret: a per-process random prefix and a counter, not a `secrets` call (a
# system call) for each of the ~100 events of every turn.
EVENT_ID_PREFIX = new_id('event')[:14]
EVENT_IDS = (f'{EVENT_ID_PREFIX}{n:07x}' for n in itertools.count())


def event(event_type: ServerEvent, **fields: object) -> dict:
    return {'type': event_type.value, 'event_id': next(EVENT_IDS), **fields}


def error_event(fields: dict, client_event_id: str | None) -> dict:
    return event(ServerEvent.ERROR, error={'param': None, **fields, 'event_id': client_event_id})


def text_tokens(text: str | None) -> int:
    return math.ceil(len(text or '') / CHARS_PER_TEXT_TOKEN)


def audio_tokens(item: Item) -> int:
    per_token = USER_AUDIO_MS_PER_TOKEN if item.role == 'user' else AGENT_AUDIO_MS_PER_TOKEN
    return math.ceil(audio_ms(item.audio) / per_token)


def transcription_usage(audio: bytes, transcript: str) -> dict:
    audio_in = math.ceil(audio_ms(audio) / USER_AUDIO_MS_PER_TOKEN)
    out = text_tokens(transcript)
    return {'type': 'tokens', 'input_tokens': audio_in, 'output_tokens': out, 'total_tokens': audio_in + out,
            'input_token_details': {'audio_tokens': audio_in, 'text_tokens': 0}}


def item_text(item: Item) -> str:
    return item.text or item.arguments or item.output or ''


def response_usage(context: list[Item], instructions: str, outputs: list[Item]) -> dict:
    """Input is the whole context before the reply (as the real model reads it); output is what was sent."""
    input_audio = sum(audio_tokens(item) for item in context)
    input_text = text_tokens(instructions) + sum(text_tokens(item_text(item)) for item in context
                                                 if not item.audio_part)
    output_audio = sum(audio_tokens(item) for item in outputs if item.audio_part)
    output_text = sum(text_tokens(item_text(item)) for item in outputs)
    return {'total_tokens': input_audio + input_text + output_audio + output_text,
            'input_tokens': input_audio + input_text, 'output_tokens': output_audio + output_text,
            'input_token_details': {'text_tokens': input_text, 'audio_tokens': input_audio, 'cached_tokens': 0,
                                    'cached_tokens_details': {'text_tokens': 0, 'audio_tokens': 0}},
            'output_token_details': {'text_tokens': output_text, 'audio_tokens': output_audio}}


def response_body(response_id: str, conversation_id: str | None, session: dict, status: str, output: list[dict],
                  usage: dict | None = None, status_details: dict | None = None,
                  metadata: dict | None = None, modalities: list[str] | None = None) -> dict:
    audio_out = session['audio']['output']
    return {'object': 'realtime.response', 'id': response_id, 'status': status, 'status_details': status_details,
            'output': output, 'conversation_id': conversation_id,
            'output_modalities': modalities or session['output_modalities'],
            'max_output_tokens': session['max_output_tokens'],
            'audio': {'output': {'format': audio_out['format'], 'voice': audio_out['voice']}},
            'usage': usage, 'metadata': metadata}
