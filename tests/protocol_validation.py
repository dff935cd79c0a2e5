"""Conformance checks against the `openai` package's own pydantic types (PROTOCOL.md §6).

openai-python tags its event unions with a marker pydantic ignores; rebuilding them with a real
discriminator gives fast, precise errors (an unknown `type` fails instead of matching some other member).
The types allow extra fields and check no numeric ranges: callers check those where it matters.
"""
from __future__ import annotations

import typing
from typing import Annotated, Any, Union

from openai.types.realtime import ClientSecretCreateResponse, RealtimeClientEvent, RealtimeServerEvent
from pydantic import Field, TypeAdapter


def strict(alias: Any) -> TypeAdapter:
    members = typing.get_args(typing.get_args(alias)[0])
    return TypeAdapter(Annotated[Union[members], Field(discriminator='type')])  # noqa: UP007


CLIENT_EVENT = strict(RealtimeClientEvent)
SERVER_EVENT = strict(RealtimeServerEvent)
CLIENT_SECRET = TypeAdapter(ClientSecretCreateResponse)


def validate_client_event(event: dict) -> Any:
    """The parsed model; raises pydantic.ValidationError when the event is not GA-conformant."""
    return CLIENT_EVENT.validate_python(event)


def validate_server_event(event: dict) -> Any:
    return SERVER_EVENT.validate_python(event)


def validate_client_secret(body: dict) -> ClientSecretCreateResponse:
    """A `POST /v1/realtime/client_secrets` 200 body."""
    return CLIENT_SECRET.validate_python(body)
