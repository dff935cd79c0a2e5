"""A person's own session settings (the Settings dialog): validated, kept in NiceGUI's user storage, applied as GA.

One owner: these settings are Python state. They start from the app's configuration (`config.Settings`, from
the environment), a person's saved choices override them, and the page hands the result to the browser component,
which puts it on the wire with `session.update` (at connect, and on a running session when saved).
Whatever comes in — a dialog field, a stored file edited by hand — is checked by the same pydantic model: a bad
value gets a message on its field and never reaches the API.
"""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from nicegui.storage import Storage
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .config import Settings
from .config_checks import MAX_INSTRUCTIONS, MAX_PROMPT  # the variables' bounds are the dialog's
from .protocol import VOICES, TurnDetection

STORAGE_KEY = 'voice_ui.settings'   # in app.storage.user: {owner: settings}
MAX_OWNERS = 8                      # sign-ins remembered per browser (the oldest is forgotten first)
Voice = Literal[VOICES]  # type: ignore[valid-type]  (the GA voices the service and the embedded server know)
Eagerness = Literal['low', 'medium', 'high', 'auto']
LABELS = {  # each field's accessible name in the dialog, also used in error messages
    'voice': 'Voice', 'instructions': 'Instructions', 'language': 'Transcription language',
    'transcription_prompt': 'Transcription prompt', 'turn_detection': 'Turn detection',
    'threshold': 'VAD threshold', 'silence_duration_ms': 'Silence duration (ms)',
    'prefix_padding_ms': 'Prefix padding (ms)', 'eagerness': 'Eagerness', 'hands_free': 'Start in hands-free mode',
}


class VoiceSettings(BaseModel):
    """What a person may choose for their sessions. Ranges are the GA API's (threshold 0–1) or sane bounds."""
    model_config = ConfigDict(extra='ignore', frozen=True, str_strip_whitespace=True)

    voice: Voice = 'cedar'
    instructions: str = Field('', max_length=MAX_INSTRUCTIONS)
    language: str = ''  # ISO-639-1, e.g. "en"; empty: the transcriber detects it
    transcription_prompt: str = Field('', max_length=MAX_PROMPT)
    turn_detection: TurnDetection = TurnDetection.SERVER_VAD
    threshold: float = Field(0.5, ge=0.0, le=1.0, allow_inf_nan=False)
    silence_duration_ms: int = Field(500, ge=100, le=5_000)
    prefix_padding_ms: int = Field(300, ge=0, le=2_000)
    eagerness: Eagerness = 'auto'
    hands_free: bool = False  # the Hands-free switch's state when the page opens

    @field_validator('language')
    @classmethod
    def _iso_639_1(cls, value: str) -> str:
        value = value.lower()
        if value and not (len(value) == 2 and value.isascii() and value.isalpha()):
            raise ValueError('use a two-letter ISO-639-1 code such as "en" or "de", or leave it empty to detect it')
        return value

    @field_validator('silence_duration_ms', 'prefix_padding_ms', mode='before')
    @classmethod
    def _whole_ms(cls, value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():  # a number field gives 500.0 for 500
            return int(value)
        return value

    @classmethod
    def from_config(cls, config: Settings) -> VoiceSettings:
        """The app's configured defaults (environment, .env) as a person's starting point."""
        return cls.model_validate({'voice': config.voice if config.voice in VOICES else 'cedar',
                                   'instructions': config.instructions[:MAX_INSTRUCTIONS],
                                   'language': config.language if _valid_language(config.language) else '',
                                   'transcription_prompt': config.transcription_prompt[:MAX_PROMPT],
                                   'turn_detection': config.turn_detection})

    def apply_to(self, config: Settings) -> Settings:
        """The app configuration with this person's choices: what `session_config` builds the session from."""
        return replace(config, voice=self.voice, instructions=self.instructions, language=self.language,
                       transcription_prompt=self.transcription_prompt, turn_detection=self.turn_detection)

    def turn_detection_body(self) -> dict:
        """The GA `audio.input.turn_detection` of hands-free mode: the server's VAD ends each turn and creates the
        reply, and speech over the agent interrupts it (the browser then truncates what was heard)."""
        common = {'create_response': True, 'interrupt_response': True}
        if self.turn_detection is TurnDetection.SEMANTIC_VAD:
            return {'type': TurnDetection.SEMANTIC_VAD.value, 'eagerness': self.eagerness, **common}
        return {'type': TurnDetection.SERVER_VAD.value, 'threshold': self.threshold,
                'prefix_padding_ms': self.prefix_padding_ms, 'silence_duration_ms': self.silence_duration_ms,
                **common}

    def stored(self) -> dict:
        return self.model_dump(mode='json')


def _valid_language(value: str) -> bool:
    return value == '' or (len(value) == 2 and value.isascii() and value.isalpha())


def field_errors(values: dict) -> dict[str, str]:
    """{field: message} for every value the model refuses (empty when all are fine)."""
    try:
        VoiceSettings.model_validate(values)
    except ValidationError as error:
        return {str(e['loc'][0]) if e['loc'] else '': _message(e) for e in error.errors()}
    return {}


def field_error(name: str, value: Any, values: dict | None = None) -> str | None:
    """The message for one field's value (the dialog's live validation), or None when it is fine."""
    return field_errors({**(values or {}), name: value}).get(name)


def _message(error: dict) -> str:
    message = error['msg'].removeprefix('Value error, ')
    if error['type'] == 'literal_error' and 'ctx' in error:
        message = f"choose one of {error['ctx']['expected']}"
    return message[:1:].upper() + message[1:200]


def live_update(session: dict) -> dict:
    """The part of a `session.update` body (session_config.session_update) a running session takes from the
    settings: instructions and transcription. The voice goes on its own (the API may refuse it), turn detection
    with the mode the browser is in (hands-free.js)."""
    return {'type': 'realtime', 'instructions': session['instructions'],
            'audio': {'input': {'transcription': session['audio']['input']['transcription']}}}


def user_storage() -> dict:
    """This browser's NiceGUI user storage, or a throwaway dict where there is none (no `storage_secret` in
    `ui.run`, or outside a page): settings then last for this page only instead of failing the page."""
    from nicegui import app
    try:
        return app.storage.user
    except RuntimeError:
        return {}


def load(storage: dict, owner: str, defaults: VoiceSettings) -> VoiceSettings:
    """The owner's saved settings over `defaults`. Stored values are untrusted (a file on disk, Redis): a field that
    no longer validates falls back to its default, and the rest are kept."""
    saved = (storage.get(STORAGE_KEY) or {})
    saved = saved.get(owner) if isinstance(saved, dict) else None
    if not isinstance(saved, dict):
        return defaults
    values = {**defaults.stored(), **{k: v for k, v in saved.items() if k in VoiceSettings.model_fields}}
    for name in field_errors(values):
        values[name] = getattr(defaults, name)
    try:
        return VoiceSettings.model_validate(values)
    except ValidationError:  # fields that are only wrong together
        return defaults


def save(storage: dict, owner: str, settings: VoiceSettings) -> None:
    """Keep `settings` for `owner`; a browser keeps at most MAX_OWNERS sign-ins' settings."""
    saved = storage.get(STORAGE_KEY)
    saved = {k: v for k, v in saved.items() if k != owner} if isinstance(saved, dict) else {}
    saved[owner] = settings.stored()
    storage[STORAGE_KEY] = dict(list(saved.items())[-MAX_OWNERS:])  # a new dict: NiceGUI persists on assignment


def storage_secret(config: Settings, folder: Path | None = None) -> str:
    """The secret NiceGUI signs its browser-id cookie with (user storage needs one): VOICE_UI_SECRET when set (the
    same on every replica), otherwise one made on first start and kept among NiceGUI's storage files (so that saved
    settings survive a restart, and clearing the storage forgets it too). Whoever can read that folder can read the
    storage itself anyway."""
    if config.secret:
        return config.secret
    folder = folder or Storage.path  # NICEGUI_STORAGE_PATH, default .nicegui in the working directory
    path = folder / 'storage-voice-ui-secret.json'
    try:
        value = json.loads(path.read_text(encoding='utf-8')).get('secret')
        if isinstance(value, str) and len(value) >= 32:
            return value
    except (OSError, ValueError, AttributeError):
        pass  # missing, unreadable or not ours: a new one
    value = secrets.token_urlsafe(32)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, 'w', encoding='utf-8') as file:
            json.dump({'secret': value}, file)
    except OSError:
        pass  # a read-only folder: this start's secret only (settings last until the next restart)
    return value
