"""Handing tools to the app: modules (`--tools`), the examples flag, and the same from Python."""
import sys
import textwrap
from pathlib import Path

import pytest

from voice_ui import tool
from voice_ui.config import Settings, parse_args
from voice_ui.tools import FunctionCall, ToolLoadError, Toolbox, ToolRunner, examples, tools_of


@tool
def local_tool() -> str:
    """A tool of this test module."""
    return 'ok'


def write_module(tmp_path, name: str, body: str):
    (tmp_path / f'{name}.py').write_text(textwrap.dedent(body))
    return tmp_path / f'{name}.py'


@pytest.fixture
def on_path(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith('vu_tools_')]:
        del sys.modules[name]


def test_every_tool_of_a_module_in_definition_order():
    assert [t.name for t in tools_of(examples)] == ['current_time', 'start_timer', 'cancel_timer', 'list_timers']
    assert tools_of('tests.tools.test_toolbox') == [local_tool]


def test_modules_by_import_name_and_by_file(on_path):
    write_module(on_path, 'vu_tools_home', '''
        from voice_ui import tool
        from voice_ui.tools.examples import current_time  # re-exported: counted once

        @tool
        def lights(on: bool) -> str:
            """Switch the lights."""
            return 'on' if on else 'off'
    ''')
    box = Toolbox.from_modules(['vu_tools_home'], examples=True)
    assert box.names == ['current_time', 'start_timer', 'cancel_timer', 'list_timers', 'lights']
    file = write_module(on_path, 'vu_tools_file', '''
        from voice_ui import tool

        @tool(name='ping')
        async def ping_tool() -> str:
            """Answer pong."""
            return 'pong'
    ''')
    assert Toolbox.from_modules([str(file)]).names == ['ping']
    assert Toolbox.from_modules([str(file), str(file)]).names == ['ping']  # named twice: one module


@pytest.mark.parametrize('body, message', [
    ('import no_such_module_anywhere\n', "tools module 'vu_tools_bad' could not be imported: ModuleNotFoundError"),
    ('raise RuntimeError("boom")\n', "tools module 'vu_tools_bad' could not be imported: RuntimeError: boom"),
    ('x = 1\n', "tools module 'vu_tools_bad' has no @tool functions"),
])
def test_a_module_that_cannot_serve_says_which_and_why(on_path, body, message):
    write_module(on_path, 'vu_tools_bad', body)
    with pytest.raises(ToolLoadError, match=message.replace('(', r'\(')):
        Toolbox.from_modules(['vu_tools_bad'])


def test_two_tools_with_one_name_are_refused(on_path):
    write_module(on_path, 'vu_tools_clash', '''
        from voice_ui import tool

        @tool
        def current_time() -> str:
            """Not the example's."""
            return 'noon'
    ''')
    with pytest.raises(ToolLoadError, match="two different tools are named 'current_time' \\(in vu_tools_clash\\)"):
        Toolbox.from_modules(['vu_tools_clash'], examples=True)
    with pytest.raises(TypeError, match='decorate it with @tool'):
        Toolbox([print])


def test_command_line_flags(on_path, capsys):
    settings = parse_args(['--example-tools'], base=Settings())
    assert settings.tools.names == ['current_time', 'start_timer', 'cancel_timer', 'list_timers']
    assert not parse_args([], base=Settings()).tools
    with pytest.raises(SystemExit) as exit_info:
        parse_args(['--tools', 'vu_tools_missing'], base=Settings())
    assert exit_info.value.code == 2
    assert "tools module 'vu_tools_missing' could not be imported" in capsys.readouterr().err


def test_from_python_for_an_embedding_app():
    settings = Settings(tools=Toolbox([local_tool]))  # what someone embedding the page passes in
    assert settings.tools.definitions()[0]['name'] == 'local_tool'
    flagged = parse_args(['--example-tools'], base=settings)  # flags add to tools given in Python
    assert flagged.tools.names == ['local_tool', 'current_time', 'start_timer', 'cancel_timer', 'list_timers']
    assert settings == Settings()  # tools are not part of the settings' identity (they are not comparable data)
    assert Settings(tools=[local_tool]).tools.names == ['local_tool']  # a plain list of tools does too


async def test_the_readme_example_works_as_written(on_path):
    readme = (Path(__file__).resolve().parents[2] / 'README.md').read_text(encoding='utf-8')
    block = '# my_tools.py' + readme.split('```python\n# my_tools.py', 1)[1].split('```', 1)[0]
    (on_path / 'vu_tools_readme.py').write_text(block)
    box = Toolbox.from_modules(['vu_tools_readme'])
    assert box.names == ['set_lights']
    assert box.definitions()[0]['parameters']['properties']['room']['description'] == 'e.g. "kitchen"'
    output = await ToolRunner(box).run(FunctionCall('call_1', 'set_lights', '{"room": "kitchen", "on": false}'))
    assert output == 'The kitchen lights are off.'
