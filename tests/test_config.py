import pytest

from voice_ui.config import Settings, parse_args, read_dotenv, settings_from_env


def test_env_wins_over_dotenv_and_key_never_shows_in_repr(tmp_path):
    dotenv = tmp_path / '.env'
    dotenv.write_text('# comment\nexport OPENAI_API_KEY="sk-from-dotenv"\nVOICE_UI_VOICE=marin\n')
    assert read_dotenv(dotenv)['OPENAI_API_KEY'] == 'sk-from-dotenv'
    settings = settings_from_env({'VOICE_UI_VOICE': 'ash'}, dotenv)
    assert settings.api_key == 'sk-from-dotenv' and settings.voice == 'ash'
    assert 'sk-from-dotenv' not in repr(settings)
    assert not settings.uses_embedded_server


def test_no_key_means_embedded_server_on_the_same_port():
    settings = parse_args(['--port', '9001', '--host', '0.0.0.0'], base=settings_from_env({}, None))
    assert settings.uses_embedded_server and settings.port == 9001
    local = settings.with_embedded_server('local-key')
    assert local.base_url == 'http://127.0.0.1:9001/v1' and local.ws_url == 'ws://127.0.0.1:9001/v1/realtime'


def test_ws_url_is_derived_from_the_base_url():
    assert Settings().ws_url == 'wss://api.openai.com/v1/realtime'
    assert Settings(base_url='http://localhost:8765/v1/').ws_url == 'ws://localhost:8765/v1/realtime'


def test_local_flag_forces_the_embedded_server():
    settings = parse_args(['--local'], base=Settings(api_key='sk-x'))
    assert settings.uses_embedded_server


def test_the_audio_download_cap_comes_from_the_environment_within_bounds():
    assert Settings().record_audio_minutes == 30
    assert settings_from_env({'VOICE_UI_RECORD_AUDIO_MINUTES': '0'}, None).record_audio_minutes == 0  # none kept
    assert settings_from_env({'VOICE_UI_RECORD_AUDIO_MINUTES': ' 120 '}, None).record_audio_minutes == 120
    assert settings_from_env({'VOICE_UI_RECORD_AUDIO_MINUTES': ''}, None).record_audio_minutes == 30  # unset
    for value in ('-1', '181', '1e9', 'lots'):
        with pytest.raises(SystemExit, match='VOICE_UI_RECORD_AUDIO_MINUTES'):
            settings_from_env({'VOICE_UI_RECORD_AUDIO_MINUTES': value}, None)
