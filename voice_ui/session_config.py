"""The GA session configuration, built once from settings: bound in the token and re-sent by `session.update`."""
from __future__ import annotations

from .config import Settings
from .protocol import PCM_FORMAT as PCM, TurnDetection


def session_config(settings: Settings) -> dict:
    """Manual turns (`turn_detection: null`): the person decides when a turn ends, with Stop Speaking (the
    Hands-free switch turns the server's VAD on in the browser, with `hands_free_turn_detection`).
    With tools, the session lists their GA function definitions."""
    transcription = {'model': settings.transcription_model}
    if settings.language:  # empty: the transcriber detects the language
        transcription['language'] = settings.language
    if settings.transcription_prompt:
        transcription['prompt'] = settings.transcription_prompt
    session = {
        'type': 'realtime',
        'model': settings.model,
        'output_modalities': ['audio'],
        'instructions': settings.instructions,
        'audio': {
            'input': {'format': PCM, 'transcription': transcription, 'turn_detection': None,
                      'noise_reduction': {'type': 'near_field'}},
            'output': {'format': PCM, 'voice': settings.voice},
        },
    }
    if settings.tools:  # the function tools the agent may call; the model decides when ("auto")
        session['tools'] = settings.tools.definitions()
        session['tool_choice'] = 'auto'
    return session


def hands_free_turn_detection(settings: Settings) -> dict:
    """The GA `turn_detection` hands-free mode switches on with `session.update`: the server's VAD ends each turn
    and creates the reply, and speech over the agent interrupts it (the browser then truncates what was heard)."""
    return {'type': TurnDetection(settings.turn_detection).value, 'create_response': True, 'interrupt_response': True}


def session_update(settings: Settings) -> dict:
    """The `session.update` body the browser sends on open. The model is fixed by the URL, so it is left out."""
    session = session_config(settings)
    del session['model']
    return session
