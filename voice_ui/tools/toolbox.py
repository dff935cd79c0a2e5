"""The tools one app offers: collected from modules (`--tools some.module`) or handed in from Python.

Names are the model's only handle on a tool, so two different tools with one name are refused up front rather
than one silently shadowing the other.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType

from .decorator import Tool

EXAMPLES_MODULE = 'voice_ui.tools.examples'


class ToolLoadError(Exception):
    """A tools module that cannot be used; the message names the module and says why."""


class Toolbox:
    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for t in tools:
            self.add(t)

    @classmethod
    def from_modules(cls, modules: Iterable[str | ModuleType], *, examples: bool = False,
                     base: Iterable[Tool] = ()) -> Toolbox:
        """`base`'s tools, then every `@tool` of each module (import name, `.py` file or module object), plus the
        built-in examples if asked."""
        box = cls(base)
        for module in ([EXAMPLES_MODULE] if examples else []) + list(modules):
            for t in tools_of(module):
                box.add(t, source=module if isinstance(module, str) else module.__name__)
        return box

    def add(self, new: Tool, *, source: str = '') -> None:
        if not isinstance(new, Tool):
            raise TypeError(f'{new!r} is not a tool: decorate it with @tool')
        known = self._tools.get(new.name)
        if known is not None and known is not new:  # the same tool reached twice (re-exported) is fine
            where = f' (in {source})' if source else ''
            raise ToolLoadError(f'two different tools are named {new.name!r}{where}: tool names must be unique')
        self._tools[new.name] = new

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def definitions(self) -> list[dict]:
        """The session's `tools`: one GA function definition per tool."""
        return [t.definition() for t in self._tools.values()]

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    def __bool__(self) -> bool:
        return bool(self._tools)

    def __repr__(self) -> str:
        return f'Toolbox({", ".join(self._tools) or "empty"})'


def tools_of(module: str | ModuleType) -> list[Tool]:
    """The `@tool`s of a module, in definition order. Raises ToolLoadError naming the module."""
    name = module if isinstance(module, str) else module.__name__
    if isinstance(module, str):
        try:
            module = _load_file(module) if module.endswith('.py') else _import(module)
        except Exception as error:  # any import failure, including errors raised by the module's own code
            raise ToolLoadError(f'tools module {name!r} could not be imported: {type(error).__name__}: {error}') \
                from error
    found = [value for value in vars(module).values() if isinstance(value, Tool)]
    if not found:
        raise ToolLoadError(f'tools module {name!r} has no @tool functions')
    return list(dict.fromkeys(found))  # one entry per tool, even if bound to two names


def _import(name: str) -> ModuleType:
    """Import names are also looked up in the current directory, as `python -m` would (after installed ones)."""
    if os.getcwd() not in sys.path and '' not in sys.path:
        sys.path.append(os.getcwd())
    return importlib.import_module(name)


def _load_file(path: str) -> ModuleType:
    """A tools module given as a file (`--tools ./my_tools.py`), imported under its file name."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f'no such file: {path}')
    known = sys.modules.get(file.stem)
    if known is not None and Path(getattr(known, '__file__', '') or '').resolve() == file.resolve():
        return known  # the same file named twice is one module, with the same tools
    spec = importlib.util.spec_from_file_location(file.stem, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[file.stem] = module  # as `import` would: dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[file.stem]
        raise
    return module
