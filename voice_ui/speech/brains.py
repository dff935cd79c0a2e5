"""What the speech agent says back: the echo by default, or any OpenAI-compatible chat completions endpoint.

- VOICE_UI_AGENT_CHAT_URL: base URL of the endpoint, e.g. http://localhost:11434/v1 (Ollama) — unset: echo.
- VOICE_UI_AGENT_CHAT_MODEL: the model to ask (required with the URL).
- VOICE_UI_AGENT_CHAT_KEY: optional bearer token.
The session's instructions (VOICE_UI_INSTRUCTIONS, else the app default) become the system message.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import httpx

from ..config import DEFAULT_INSTRUCTIONS, environment
from ..local_realtime.server_agent import Message

CHAT_URL_ENV = 'VOICE_UI_AGENT_CHAT_URL'
CHAT_MODEL_ENV = 'VOICE_UI_AGENT_CHAT_MODEL'
CHAT_KEY_ENV = 'VOICE_UI_AGENT_CHAT_KEY'
INSTRUCTIONS_ENV = 'VOICE_UI_INSTRUCTIONS'
NOTHING_HEARD = 'Sorry, I did not catch that.'


class Brain(Protocol):
    description: str

    async def reply(self, history: list[Message], instructions: str | None = None) -> str:
        """The text to speak in answer to `history` (which ends with the user's latest turn)."""


class EchoBrain:
    description = 'echo'

    async def reply(self, history: list[Message], instructions: str | None = None) -> str:
        heard = latest_user_text(history)
        return f'You said: {heard}' if heard else NOTHING_HEARD


class ChatCompletionsBrain:
    """POST {base_url}/chat/completions with the conversation; the first choice's message is the reply."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 instructions: str = DEFAULT_INSTRUCTIONS, timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip('/')
        self.model = model
        self.instructions = instructions
        self._api_key = api_key
        self._timeout_s = timeout_s
        self.description = f'chat model {model} at {self.base_url}'

    async def reply(self, history: list[Message], instructions: str | None = None) -> str:
        if not latest_user_text(history):
            return NOTHING_HEARD
        headers = {'Authorization': f'Bearer {self._api_key}'} if self._api_key else {}
        body = {'model': self.model, 'messages': self.messages(history, instructions)}
        async with httpx.AsyncClient(timeout=self._timeout_s) as client:
            response = await client.post(f'{self.base_url}/chat/completions', json=body, headers=headers)
        if response.status_code != 200:
            raise ChatError(f'{self.description} answered HTTP {response.status_code}: {response.text[:200]}')
        try:
            return (response.json()['choices'][0]['message']['content'] or '').strip()
        except (ValueError, LookupError, TypeError) as exc:
            raise ChatError(f'{self.description} sent an unexpected body: {response.text[:200]}') from exc

    def messages(self, history: list[Message], instructions: str | None = None) -> list[dict[str, str]]:
        system = instructions or self.instructions
        turns = [{'role': message.role, 'content': message.text} for message in history if message.text]
        return ([{'role': 'system', 'content': system}] if system else []) + turns


class ChatError(RuntimeError):
    pass


def brain_from_env(environ: Mapping[str, str] | None = None) -> Brain:
    env = environment() if environ is None else environ
    url = env.get(CHAT_URL_ENV, '').strip()
    if not url:
        return EchoBrain()
    model = env.get(CHAT_MODEL_ENV, '').strip()
    if not model:
        raise ValueError(f'{CHAT_MODEL_ENV} must name the model when {CHAT_URL_ENV} is set')
    return ChatCompletionsBrain(url, model, env.get(CHAT_KEY_ENV, '').strip() or None,
                                env.get(INSTRUCTIONS_ENV, '').strip() or DEFAULT_INSTRUCTIONS)


def latest_user_text(history: list[Message]) -> str:
    return next((message.text.strip() for message in reversed(history) if message.role == 'user'), '')
