"""The app as `python main.py --example-tools` serves it without a key, except that the embedded server's agent
decides by rules (a ScriptedBrain) instead of echoing, so a spoken request really leads to a tool call. It still
hears with whisper and speaks with piper (speech extra), or, without it, answers typed input only.

Test-only: `python -m tests.e2e.tools_app --example-tools --port P` (run from the repo root, so this checkout's
voice_ui is the one imported)."""
from __future__ import annotations

from voice_ui import speech
from voice_ui.app import run
from voice_ui.config import parse_args
from voice_ui.local_realtime.server_agent import BrainAgent
from voice_ui.speech.scripted_brain import ScriptedBrain, after_tool, call_tool, when_heard

TIMER = {'minutes': 10, 'label': 'tea'}


def scripted_brain() -> ScriptedBrain:
    """"... set a timer for ten minutes" → start_timer; the tool's output (e.g. "The tea timer is set for 10 minutes.")
    is what the agent then says, so the spoken answer carries the real result."""
    return ScriptedBrain(when_heard('timer', call_tool('start_timer', TIMER)),
                         after_tool(lambda name, output: output.strip('"')), description='scripted tool rules')


def scripted_agent():
    brain = scripted_brain()
    if speech.speech_available():
        from voice_ui.speech.agent import SpeechAgent
        return SpeechAgent(brain=brain)
    return BrainAgent(brain)


if __name__ in {'__main__', '__mp_main__'}:
    speech.default_agent = scripted_agent  # create_backend asks voice_ui.speech for the agent when it builds it
    run(parse_args())
