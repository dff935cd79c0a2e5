"""Property tests: whatever the model (or a hostile page) sends as a call, the runner ends it with a bounded
output the model can read - never an exception, never a value of the wrong type inside the tool."""
import asyncio
import json
import keyword
from typing import Annotated, Any, Literal

from hypothesis import HealthCheck, given, settings, strategies as st
from pydantic import BaseModel, Field

from voice_ui.tools import FunctionCall, ToolLimits, ToolRunner, ToolStatus, Toolbox, tool

LIMITS = ToolLimits(max_argument_chars=4_000, max_output_chars=500, max_display_chars=200)


class Room(BaseModel):
    name: Annotated[str, Field(max_length=20)]
    floor: int = 0


@tool
def typed(count: Annotated[int, Field(ge=0, le=10)], mode: Literal['on', 'off'], rooms: list[Room] = [],  # noqa: B006
          ratio: float | None = None) -> str:
    """Checks inside the tool that validation let through only what the hints promise."""
    assert isinstance(count, int) and 0 <= count <= 10 and mode in ('on', 'off')
    assert all(isinstance(r, Room) and len(r.name) <= 20 for r in rooms)
    assert ratio is None or isinstance(ratio, float)
    return f'{count} {mode} {len(rooms)}'


@tool
def echo(value: Any = None) -> Any:
    """Returns whatever it got: its output must still be bounded."""
    return value


TOOLS = Toolbox([typed, echo])
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                  max_size=4), max_leaves=20)
ARGUMENTS = st.one_of(
    st.text(max_size=300),                                                             # anything at all
    st.dictionaries(st.sampled_from(['count', 'mode', 'rooms', 'ratio', 'extra']), JSON).map(json.dumps),
    st.builds(lambda c, m, n: json.dumps({'count': c, 'mode': m, 'rooms': [{'name': n}]}),  # near-valid
              st.integers(-5, 15) | st.text(max_size=3), st.sampled_from(['on', 'off', 'ON', '']),
              st.text(max_size=30)),
    st.integers(1, 3_000).map(lambda depth: '{"value": ' + '[' * depth + ']' * depth + '}'),   # deep nesting
    st.integers(1, 3_000).map(lambda depth: '[' * depth),                                    # deep and broken
    st.integers(3_900, 4_100).map(lambda n: json.dumps({'value': 'x' * n})),                   # around the limit
)


def run_one(name: str, arguments: str, call_id: str = 'call_1'):
    async def scenario():
        runner = ToolRunner(TOOLS, LIMITS)
        reply = await runner.reply([FunctionCall(call_id, name, arguments)])
        await runner.close()
        return reply, runner.records
    return asyncio.run(scenario())


def check(reply, records) -> None:
    assert reply.respond and len(reply.outputs) == 1
    output = reply.outputs[0]['item']['output']
    assert isinstance(output, str) and len(output) <= LIMITS.max_output_chars + 2_100  # errors: at most 2,000 chars
    (record,) = records.values()
    assert record.status in (ToolStatus.DONE, ToolStatus.ERROR)
    assert len(record.arguments) <= LIMITS.max_display_chars and len(record.result) <= LIMITS.max_display_chars
    if record.status == ToolStatus.ERROR:
        assert set(json.loads(output)) == {'error'} and record.error
    else:
        assert len(output) <= LIMITS.max_output_chars


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(['typed', 'echo']), arguments=ARGUMENTS)
def test_any_argument_text_ends_in_a_bounded_readable_output(name, arguments):
    check(*run_one(name, arguments))


@settings(max_examples=100, deadline=None)
@given(name=st.text(max_size=200), call_id=st.text(max_size=300), arguments=st.text(max_size=50))
def test_any_name_and_call_id_ends_in_an_error_output(name, call_id, arguments):
    reply, records = run_one(name, arguments, call_id)
    if name not in TOOLS:
        assert 'unknown tool' in json.loads(reply.outputs[0]['item']['output'])['error']
    check(reply, records)


def test_nesting_deeper_than_python_can_parse_is_refused_cleanly():
    reply, records = run_one('echo', '{"value": ' + '[' * 1_990 + ']' * 1_990 + '}')
    assert json.loads(reply.outputs[0]['item']['output']) == {'error': 'arguments nest too deeply'}


def test_a_string_of_exactly_the_limit_is_accepted_and_one_more_is_refused():
    at_limit = json.dumps({'value': 'x' * (LIMITS.max_argument_chars - 13)})
    assert len(at_limit) == LIMITS.max_argument_chars
    reply, _ = run_one('echo', at_limit)
    assert reply.outputs[0]['item']['output'].endswith('characters]')  # accepted, and its echo truncated
    reply, _ = run_one('echo', at_limit[:-2] + 'x"}')
    assert 'arguments too long' in json.loads(reply.outputs[0]['item']['output'])['error']


TYPES = {  # a hint, a JSON value it accepts, a JSON value it refuses
    'int': (int, 3, 'three'), 'float': (float, 2.5, [1]), 'str': (str, 'x', 5), 'bool': (bool, True, 'maybe'),
    'list': (list[int], [1, 2], ['a']), 'literal': (Literal['a', 'b'], 'a', 'c'), 'optional': (int | None, None, {}),
    'model': (Room, {'name': 'hall'}, {'floor': 1}),
}
PARAMETER_NAMES = st.from_regex(r'[a-z_][a-z0-9_]{0,12}', fullmatch=True) \
    .filter(lambda n: n != 'self' and not keyword.iskeyword(n))  # as in any real function


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(PARAMETER_NAMES, st.tuples(st.sampled_from(sorted(TYPES)), st.booleans()),
                       min_size=1, max_size=5),
       st.data())
def test_generated_signatures_give_schemas_that_match_validation(parameters, data):
    import inspect

    from openai.types.realtime import RealtimeFunctionTool

    ordered = sorted(parameters.items(), key=lambda kv: kv[1][1])  # required ones (False) before defaulted ones
    signature = inspect.Signature([
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=TYPES[kind][0],
                          default=TYPES[kind][1] if has_default else inspect.Parameter.empty)
        for name, (kind, has_default) in ordered])

    def function(**kwargs):
        return kwargs

    function.__signature__ = signature
    function.__annotations__ = {name: TYPES[kind][0] for name, (kind, _) in ordered}
    made = tool(name='generated')(function)
    RealtimeFunctionTool.model_validate(made.definition())
    schema = made.parameters
    assert set(schema['properties']) == set(parameters)
    assert set(schema['required']) == {name for name, (_, has_default) in parameters.items() if not has_default}
    good = {name: TYPES[kind][1] for name, (kind, has_default) in parameters.items()
            if not has_default or data.draw(st.booleans())}
    args, kwargs = made.bind(good, None)
    assert set(kwargs) == set(good) and not args
    bad_name = data.draw(st.sampled_from(sorted(parameters)))
    reply, _ = run_one_with(made, json.dumps({**good, bad_name: TYPES[parameters[bad_name][0]][2]}))
    assert 'invalid arguments: ' + bad_name in json.loads(reply.outputs[0]['item']['output'])['error']


def run_one_with(made, arguments: str):
    async def scenario():
        runner = ToolRunner(Toolbox([made]), LIMITS)
        reply = await runner.reply([FunctionCall('call_1', made.name, arguments)])
        await runner.close()
        return reply, runner.records
    return asyncio.run(scenario())
