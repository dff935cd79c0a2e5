"""JSON from untrusted peers: strict (no NaN/Infinity), shallow, and every failure a `RequestError`.

`json.loads` alone lets through what breaks later: `"[" * 100000` raises RecursionError, a 5,000-digit number
ValueError, `1e999` becomes infinity and `Infinity` is accepted; deep but parseable values make every later
`copy.deepcopy` or `json.dumps` of an echoed session recurse.
"""
from __future__ import annotations

import json
import math
import re

from ..protocol import ErrorCode
from .session_schema import RequestError


def _refuse_constant(name: str) -> None:
    raise ValueError(f'{name} is not JSON')


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f'the number {text[:40]} is out of range')
    return value


DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)  # built once: json.loads
#                                                      with hooks would build a decoder per call


def loads(text: str | bytes, max_depth: int) -> object:
    """The parsed value, or `RequestError(invalid_json)` for anything a strict JSON parser would refuse."""
    try:
        if isinstance(text, (bytes, bytearray, memoryview)):
            text = bytes(text).decode('utf-8')
        value = DECODER.decode(text)
    except UnicodeDecodeError as exc:
        raise RequestError(ErrorCode.INVALID_JSON, f'The message is not valid UTF-8: {exc.reason} at byte '
                           f'{exc.start}.') from None
    except json.JSONDecodeError as exc:
        raise RequestError(ErrorCode.INVALID_JSON, f'We could not parse the JSON body: {exc.msg} at line '
                           f'{exc.lineno} column {exc.colno}.') from None
    except RecursionError:
        raise RequestError(ErrorCode.INVALID_JSON, f'JSON nested deeper than {max_depth} levels.') from None
    except ValueError as exc:  # a number with too many digits, or NaN/Infinity
        raise RequestError(ErrorCode.INVALID_JSON, f'We could not parse the JSON body: {str(exc)[:200]}') from None
    check_depth(value, max_depth)
    if LONE_SURROGATE_ESCAPE.search(text):
        check_no_lone_surrogates(value)
    return value


# Only a `\\uD800`-`\\uDFFF` escape makes a surrogate (raw UTF-8 cannot hold one); a pair of them is joined into one
# character by the parser, so what is left over is unpaired: text no UTF-8 encoder (the HTTP response's) accepts.
LONE_SURROGATE_ESCAPE = re.compile(r'\\u[dD][89a-fA-F]')


def check_no_lone_surrogates(value: object) -> None:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            try:
                node.encode('utf-8')
            except UnicodeEncodeError as exc:
                raise RequestError(ErrorCode.INVALID_JSON, 'The JSON holds an unpaired UTF-16 surrogate escape '
                                   f'(\\u{ord(node[exc.start]):04x}), which is not text.') from None


def check_depth(value: object, max_depth: int) -> None:
    """Iterative, so checking cannot itself recurse too deep."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > max_depth:
            raise RequestError(ErrorCode.INVALID_JSON, f'JSON nested deeper than {max_depth} levels.')
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
