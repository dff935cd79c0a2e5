"""Schema generation: what the model sees of a Python function, checked against openai's GA types."""
import enum
from typing import Annotated, Literal

import pytest
from openai.types.realtime import RealtimeFunctionTool, RealtimeSessionCreateRequest
from pydantic import BaseModel, Field

from tests.protocol_validation import validate_client_event
from voice_ui.config import Settings
from voice_ui.session_config import session_config, session_update
from voice_ui.tools import Tool, ToolContext, ToolDefinitionError, Toolbox, tool


class Unit(enum.Enum):
    CELSIUS = 'celsius'
    FAHRENHEIT = 'fahrenheit'


class Place(BaseModel):
    city: str
    title: str = ''  # a property called "title" must survive the removal of pydantic's titles


@tool
def weather(city: Annotated[str, Field(description='the city, e.g. Paris')], days: int = 1,
            unit: Unit = Unit.CELSIUS, kind: Literal['rain', 'sun'] | None = None) -> str:
    """Look up the weather forecast.

    Use it for questions about rain or sun.

    Args:
        city: ignored, Annotated wins.
        days: how many days ahead,
            counted from today.
        unit: the temperature unit.
    """
    return f'{city} {days} {unit.value} {kind}'


def test_name_description_and_parameters_come_from_the_function():
    definition = weather.definition()
    assert definition['type'] == 'function' and definition['name'] == 'weather'
    assert definition['description'] == 'Look up the weather forecast.\n\nUse it for questions about rain or sun.'
    params = definition['parameters']
    assert params['type'] == 'object' and params['additionalProperties'] is False
    assert params['required'] == ['city']
    props = params['properties']
    assert props['city'] == {'type': 'string', 'description': 'the city, e.g. Paris'}
    assert props['days'] == {'type': 'integer', 'default': 1, 'description': 'how many days ahead, counted from today.'}
    assert props['unit']['default'] == 'celsius' and props['unit']['description'] == 'the temperature unit.'
    assert params['$defs']['Unit']['enum'] == ['celsius', 'fahrenheit']
    assert {'enum': ['rain', 'sun'], 'type': 'string'} in props['kind']['anyOf']
    RealtimeFunctionTool.model_validate(definition)


def test_no_generated_titles_but_a_property_named_title_stays():
    @tool
    def visit(place: Place, title: str = 'x') -> str:
        """Visit a place."""
        return place.city

    params = visit.parameters
    assert 'title' not in params and 'title' not in params['$defs']['Place']
    assert set(params['$defs']['Place']['properties']) == {'city', 'title'}
    assert 'title' in params['properties'] and params['properties']['title'] == {'type': 'string', 'default': 'x'}


def test_sphinx_docstrings_and_no_docstring():
    @tool
    def add(a: int, b: int = 2) -> int:
        """Add two numbers.

        :param a: the first
        :param int b: the second
        :returns: the sum
        """
        return a + b

    assert add.description == 'Add two numbers.'
    assert add.parameters['properties']['a']['description'] == 'the first'
    assert add.parameters['properties']['b']['description'] == 'the second'

    @tool(name='bare-tool', description='Explicit.')
    def bare(x):
        return x

    assert bare.name == 'bare-tool' and bare.description == 'Explicit.'
    assert bare.parameters['properties'] == {'x': {}} and bare.parameters['required'] == ['x']


def test_the_context_parameter_is_hidden_and_the_function_stays_callable():
    @tool
    async def remember(note: str, context: ToolContext) -> str:
        """Remember a note."""
        return note

    assert list(remember.parameters['properties']) == ['note']
    assert remember.signature.context_parameter == 'context' and remember.is_async
    assert isinstance(remember, Tool) and remember.__name__ == 'remember' and remember.__doc__ == 'Remember a note.'
    assert weather('Oslo') == 'Oslo 1 celsius None'


def test_parameter_names_that_clash_with_pydantic_or_start_with_underscore_work():
    @tool
    def odd(json: str, model_config: int, _private: bool = False) -> str:
        """Names pydantic models reserve."""
        return f'{json}{model_config}{_private}'

    assert set(odd.parameters['properties']) == {'json', 'model_config', '_private'}
    args, kwargs = odd.bind({'json': 'j', 'model_config': '3', '_private': True}, None)
    assert odd(*args, **kwargs) == 'j3True'


def test_positional_only_parameters_are_passed_positionally():
    @tool
    def div(a: float, b: float, /, rounding: int = 2) -> float:
        """Divide."""
        return round(a / b, rounding)

    args, kwargs = div.bind({'a': 1, 'b': 3}, None)
    assert args == [1.0, 3.0] and kwargs == {} and div(*args, **kwargs) == 0.33

    @tool
    def span(start: int = 1, stop: int = 10, /) -> list[int]:
        """Only the second is given: the first keeps its default, in its place."""
        return [start, stop]

    args, kwargs = span.bind({'stop': 5}, None)
    assert span(*args, **kwargs) == [1, 5]


def test_unresolvable_hints_are_refused_with_the_tool_named():
    def f(x: 'NoSuchType') -> None:  # noqa: F821
        """?"""

    with pytest.raises(ToolDefinitionError, match="tool 'f': its type hints cannot be resolved"):
        tool(f)


@pytest.mark.parametrize('make', [
    lambda: tool(lambda *args: None),
    lambda: tool(name='has space')(lambda: None),
    lambda: tool(name='x' * 65)(lambda: None),
    lambda: tool(timeout=0)(lambda: None),
    lambda: tool(42),
])
def test_functions_that_cannot_be_tools_are_refused_when_decorated(make):
    with pytest.raises(ToolDefinitionError):
        make()


def test_a_type_pydantic_cannot_describe_is_refused_with_the_tool_named():
    class Opaque:
        pass

    def f(x: Opaque) -> None:
        """?"""

    with pytest.raises(ToolDefinitionError, match="tool 'f'"):
        tool(f)


def test_the_session_carries_the_tools_and_stays_ga_conformant():
    settings = Settings(tools=Toolbox.from_modules([], examples=True))
    session = session_config(settings)
    assert session['tool_choice'] == 'auto'
    assert [t['name'] for t in session['tools']] == ['current_time', 'start_timer', 'cancel_timer', 'list_timers']
    parsed = RealtimeSessionCreateRequest.model_validate(session)
    assert all(isinstance(t, RealtimeFunctionTool) for t in parsed.tools)
    validate_client_event({'type': 'session.update', 'session': session_update(settings)})


def test_without_tools_the_session_has_none():
    assert 'tools' not in session_config(Settings()) and 'tool_choice' not in session_update(Settings())


def test_the_embedded_server_accepts_the_tools_in_the_token_and_in_session_update():
    from voice_ui.local_realtime.session_schema import validate_session
    from voice_ui.local_realtime.tokens import parse_mint_body

    settings = Settings(tools=Toolbox.from_modules([], examples=True))
    parse_mint_body({'expires_after': {'anchor': 'created_at', 'seconds': 60}, 'session': session_config(settings)})
    assert validate_session(session_update(settings))['tools'] == settings.tools.definitions()
