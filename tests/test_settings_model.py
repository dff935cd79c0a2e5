"""The settings model (voice_ui/settings.py) on its own: whatever it accepts becomes GA session events, whatever it
refuses gets a message for its field, stored values are untrusted, and the storage secret is kept safely."""
from __future__ import annotations

import json
import stat

from hypothesis import given, settings as hypothesis_settings, strategies as st

from tests.protocol_validation import validate_client_event
from voice_ui.config import Settings
from voice_ui.protocol import VOICES
from voice_ui.session_config import session_update
from voice_ui.settings import (MAX_OWNERS, STORAGE_KEY, VoiceSettings, field_error, field_errors, live_update, load,
                               save, storage_secret)

DEFAULTS = VoiceSettings.from_config(Settings())
ANYTHING = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=50),
                     st.lists(st.integers(), max_size=3),
                     st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
VALID = st.builds(VoiceSettings, voice=st.sampled_from(VOICES), instructions=st.text(max_size=200),
                  language=st.sampled_from(['', 'en', 'de', 'ja']), transcription_prompt=st.text(max_size=100),
                  turn_detection=st.sampled_from(['server_vad', 'semantic_vad']),
                  threshold=st.floats(0, 1), silence_duration_ms=st.integers(100, 5000),
                  prefix_padding_ms=st.integers(0, 2000), eagerness=st.sampled_from(['low', 'medium', 'high', 'auto']),
                  hands_free=st.booleans())


@given(VALID)
@hypothesis_settings(max_examples=60, deadline=None)
def test_accepted_settings_become_ga_session_updates(mine):
    session = session_update(mine.apply_to(Settings()))
    validate_client_event({'type': 'session.update', 'session': session})
    live = live_update(session)
    for turn_detection in (None, mine.turn_detection_body()):
        patch = {**live, 'audio': {'input': {**live['audio']['input'], 'turn_detection': turn_detection}}}
        validate_client_event({'type': 'session.update', 'session': patch})
    assert session['audio']['output']['voice'] == mine.voice and session['instructions'] == mine.instructions


@given(st.sampled_from(sorted(VoiceSettings.model_fields)), ANYTHING)
@hypothesis_settings(max_examples=200, deadline=None)
def test_any_value_is_either_accepted_or_refused_with_a_message_for_its_field(name, value):
    message = field_error(name, value, DEFAULTS.stored())
    if message is None:
        VoiceSettings.model_validate({**DEFAULTS.stored(), name: value})  # accepted means valid
    else:
        assert isinstance(message, str) and 0 < len(message) <= 200 and message[0].isupper()


def test_messages_say_what_is_wrong():
    assert 'ISO-639-1' in field_error('language', 'english')
    assert field_error('language', ' DE ') is None
    assert 'less than or equal to 1' in field_error('threshold', 2)
    assert field_error('threshold', float('nan')) is not None
    assert 'Choose one of' in field_error('voice', 'robot')
    assert field_errors({'silence_duration_ms': 99, 'prefix_padding_ms': 2001}).keys() == {'silence_duration_ms',
                                                                                          'prefix_padding_ms'}


@given(st.dictionaries(st.text(max_size=20), ANYTHING, max_size=12))
@hypothesis_settings(max_examples=100, deadline=None)
def test_stored_values_never_break_loading(saved):
    for storage in ({STORAGE_KEY: {'browser': saved}}, {STORAGE_KEY: saved}, {STORAGE_KEY: [saved]}, {}):
        assert isinstance(load(storage, 'browser', DEFAULTS), VoiceSettings)


def test_save_keeps_each_owner_apart_and_a_bounded_number_of_them():
    storage: dict = {}
    for index in range(MAX_OWNERS + 3):
        save(storage, f'user:{index}', DEFAULTS.model_copy(update={'voice': VOICES[index % len(VOICES)]}))
    kept = storage[STORAGE_KEY]
    assert len(kept) == MAX_OWNERS and 'user:0' not in kept
    assert load(storage, f'user:{MAX_OWNERS + 2}', DEFAULTS).voice == VOICES[(MAX_OWNERS + 2) % len(VOICES)]
    assert load(storage, 'user:0', DEFAULTS) == DEFAULTS


def test_a_configured_language_the_model_refuses_falls_back_to_detection():
    assert VoiceSettings.from_config(Settings(language='english', voice='robot')).language == ''
    session = session_update(VoiceSettings(language='').apply_to(Settings()))
    assert 'language' not in session['audio']['input']['transcription']


def test_the_storage_secret_is_made_once_kept_private_and_voice_ui_secret_wins(tmp_path):
    first = storage_secret(Settings(), tmp_path)
    assert len(first) >= 32 and storage_secret(Settings(), tmp_path) == first
    [path] = tmp_path.iterdir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert storage_secret(Settings(secret='s' * 40), tmp_path) == 's' * 40
    path.write_text(json.dumps({'secret': 'short'}))
    assert storage_secret(Settings(), tmp_path) not in (first, 'short')
    path.write_text('not json')
    assert len(storage_secret(Settings(), tmp_path)) >= 32
