"""Typed checks of untrusted values, each failing as the service words it (`invalid_type`, `*_above_max_value`, ...).

JSON booleans are not numbers here, numbers must be finite, and every failure names its `param`.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from ..protocol import ErrorCode
from .session_schema import RequestError

JSON_TYPE_NAMES = {dict: 'an object', list: 'an array', str: 'a string', bool: 'a boolean', int: 'an integer',
                   float: 'a number', type(None): 'null'}


def type_name(value: object) -> str:
    return JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def wrong_type(param: str, expected: str, value: object) -> RequestError:
    return RequestError(ErrorCode.INVALID_TYPE, f"Invalid type for '{param}': expected {expected}, but got "
                        f'{type_name(value)} instead.', param)


def expect_object(value: object, param: str, nullable: bool = False) -> dict | None:
    if value is None and nullable:
        return None
    if not isinstance(value, dict):
        raise wrong_type(param, 'an object', value)
    return value


def expect_list(value: object, param: str, max_items: int | None = None, nullable: bool = False) -> list | None:
    if value is None and nullable:
        return None
    if not isinstance(value, list):
        raise wrong_type(param, 'an array', value)
    if max_items is not None and len(value) > max_items:
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid '{param}': array too long. Expected at most "
                           f'{max_items} items, but got {len(value)} instead.', param)
    return value


def expect_str(value: object, param: str, nullable: bool = False, max_length: int | None = None) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise wrong_type(param, 'a string', value)
    if max_length is not None and len(value) > max_length:
        raise RequestError(ErrorCode.STRING_TOO_LONG, f"Invalid '{param}': string too long. Expected a string "
                           f'with maximum length {max_length}, but got a string with length {len(value)} instead.',
                           param)
    return value


def expect_bool(value: object, param: str) -> bool:
    if not isinstance(value, bool):
        raise wrong_type(param, 'a boolean', value)
    return value


def expect_enum(value: object, param: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        shown = repr(value)[:80] if not isinstance(value, str) else f"'{value[:80]}'"
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid value: {shown}. Supported values are: "
                           f"{', '.join(repr(a) for a in allowed)}.", param)
    return value


def expect_int(value: object, param: str, minimum: int | None = None, maximum: int | None = None,
               nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(param, 'an integer', value)
    check_range(value, param, minimum, maximum, ErrorCode.INTEGER_BELOW_MIN, ErrorCode.INTEGER_ABOVE_MAX, 'integer')
    return value


def expect_number(value: object, param: str, minimum: float | None = None, maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise wrong_type(param, 'a number', value)
    if not math.isfinite(value):
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid '{param}': expected a finite number.", param)
    check_range(value, param, minimum, maximum, ErrorCode.DECIMAL_BELOW_MIN, ErrorCode.DECIMAL_ABOVE_MAX, 'decimal')
    return value


def check_range(value: float, param: str, minimum: float | None, maximum: float | None,
                below: ErrorCode, above: ErrorCode, kind: str) -> None:
    shown = str(value) if len(str(value)) <= 40 else f'{str(value)[:20]}...'
    if minimum is not None and value < minimum:
        raise RequestError(below, f"Invalid '{param}': {kind} below minimum value. Expected a value >= {minimum}, "
                           f'but got {shown} instead.', param)
    if maximum is not None and value > maximum:
        raise RequestError(above, f"Invalid '{param}': {kind} above maximum value. Expected a value <= {maximum}, "
                           f'but got {shown} instead.', param)
