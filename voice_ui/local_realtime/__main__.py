"""Standalone embedded server: `python -m voice_ui.local_realtime --port 8765 --api-key KEY`.

Then `OPENAI_BASE_URL=http://127.0.0.1:8765/v1 OPENAI_API_KEY=KEY python main.py` runs the production path.
"""
from __future__ import annotations

import argparse
import os

import uvicorn

from ..speech import default_agent
from .server_agent import EchoAgent
from .server_config import EngineOptions, LocalRealtimeConfig, Pacing
from .faults import ALLOW_FAULTS_ENV
from .limits import ServerLimits
from .server import create_app
from .uvicorn_guards import server_options


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='python -m voice_ui.local_realtime', description=(
        'A Realtime-compatible server (GA protocol) for offline development and tests.'))
    parser.add_argument('--host', default='127.0.0.1', help='interface (default: %(default)s)')
    parser.add_argument('--port', type=int, default=8765, help='port (default: %(default)s)')
    parser.add_argument('--api-key', default=os.environ.get('OPENAI_API_KEY'),
                        help='the key clients must present to mint tokens (default: $OPENAI_API_KEY)')
    parser.add_argument('--pacing', choices=[p.value for p in Pacing], default=Pacing.REALTIME.value,
                        help='stream replies at about real time or as fast as possible (default: %(default)s)')
    parser.add_argument('--session-limit', type=float, default=EngineOptions.session_limit_s, metavar='SECONDS',
                        help='close sessions after this long with session_expired (default: %(default)s)')
    parser.add_argument('--agent', choices=['auto', 'echo'], default='auto',
                        help='auto: offline speech when the speech extra is installed, else echo '
                             '(default: %(default)s)')
    parser.add_argument('--max-sessions', type=int, default=ServerLimits.max_sessions, metavar='N',
                        help='open sessions this process admits (default: %(default)s)')
    parser.add_argument('--allow-faults', action='store_true',
                        help=f'enable the /v1/_local/ fault and introspection endpoints (or {ALLOW_FAULTS_ENV}=1)')
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error('an API key is required: --api-key KEY or OPENAI_API_KEY')
    if args.max_sessions < 1:
        parser.error('--max-sessions must be at least 1')
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    agent = EchoAgent() if args.agent == 'echo' else default_agent()
    if hasattr(agent, 'load'):
        agent.load()  # a speech model that cannot load is said now, and the line below does not advertise it
    config = LocalRealtimeConfig(api_keys={args.api_key}, agent=agent,
                                 engine=EngineOptions(pacing=Pacing(args.pacing), session_limit_s=args.session_limit),
                                 limits=ServerLimits(max_sessions=args.max_sessions),
                                 allow_fault_endpoints=args.allow_faults)
    print(f'Embedded Realtime server: http://{args.host}:{args.port}/v1 ({args.pacing} pacing, '
          f'{config.agent.description})', flush=True)
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level='warning',
                **server_options(config.limits))


if __name__ == '__main__':
    main()
