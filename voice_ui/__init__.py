"""voice-ui: a NiceGUI client for the OpenAI Realtime API, talking straight from the browser."""


def __getattr__(name: str):  # `from voice_ui import tool`, loaded on first use: the embedded server needs none of it
    if name == 'tool':
        from .tools import tool
        return tool
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
