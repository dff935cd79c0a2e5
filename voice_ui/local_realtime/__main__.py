"""Standalone embedded server: `python -m voice_ui.local_realtime --port 8765 --api-key KEY`.

Then `OPENAI_BASE_URL=http://127.0.0.1:8765/v1 OPENAI_API_KEY=KEY python main.py` runs the production path.
`--workers N` serves from N processes on one port (SO_REUSEPORT: the kernel spreads connections over them);
a token minted by any of them opens sessions on every other, as it does on other hosts sharing
`VOICE_UI_TOKEN_SECRET` (tokens.py). Per-process bounds (`--max-sessions`, sessions per token) hold per worker.
"""
from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.connection
import os
import secrets
import signal
import socket
import sys

import uvicorn

from ..speech import default_agent
from .server_agent import EchoAgent
from .server_config import EngineOptions, LocalRealtimeConfig, Pacing
from .faults import ALLOW_FAULTS_ENV
from .limits import ServerLimits
from .server import create_app
from .tokens import TOKEN_SECRET_ENV, token_secret
from .end_of_turn import describe_turn_model
from .turn_detectors import describe_vad
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
    parser.add_argument('--workers', type=int, default=1, metavar='N',
                        help=f'serve from N processes sharing the port; tokens are signed with ${TOKEN_SECRET_ENV} '
                             '(a random secret shared by the workers when unset) (default: %(default)s)')
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error('an API key is required: --api-key KEY or OPENAI_API_KEY')
    if args.max_sessions < 1:
        parser.error('--max-sessions must be at least 1')
    if not 1 <= args.workers <= 64:
        parser.error('--workers must be between 1 and 64')
    try:
        token_secret()
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.workers == 1:
        return serve(args)
    if not token_secret():  # the workers must agree on one secret: a random one, for this server's life
        os.environ[TOKEN_SECRET_ENV] = secrets.token_urlsafe(32)
    print(f'Embedded Realtime server: {args.workers} workers', flush=True)
    context = multiprocessing.get_context('spawn')  # a fresh interpreter each: no event loop or lock inherited
    # By its importable name: a spawned child cannot find functions of a `python -m` module's `__main__`.
    from voice_ui.local_realtime import __main__ as entry
    workers = [context.Process(target=entry.worker, args=(sys.argv[1:] if argv is None else argv,), daemon=True)
               for _ in range(args.workers)]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        for process in workers:
            process.start()
        multiprocessing.connection.wait([process.sentinel for process in workers])  # one ended: stop them all
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.join(10)
            if process.is_alive():
                process.kill()


def worker(argv: list[str]) -> None:
    """One of `--workers N`: its own listening socket on the shared port."""
    args = parse_args(argv)
    family = socket.AF_INET6 if ':' in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((args.host, args.port))
    serve(args, sock)


def serve(args: argparse.Namespace, sock: socket.socket | None = None) -> None:
    agent = EchoAgent() if args.agent == 'echo' else default_agent()
    if hasattr(agent, 'load'):
        agent.load()  # a speech model that cannot load is said now, and the line below does not advertise it
    try:
        engine = EngineOptions(pacing=Pacing(args.pacing), session_limit_s=args.session_limit)
        config = LocalRealtimeConfig(api_keys={args.api_key}, agent=agent, engine=engine,
                                     limits=ServerLimits(max_sessions=args.max_sessions),
                                     allow_fault_endpoints=args.allow_faults)
    except ValueError as error:  # $VOICE_UI_VAD / $VOICE_UI_TURN_MODEL name what cannot run: said, not a traceback
        raise SystemExit(f'embedded server: {error}') from None
    print(f'Embedded Realtime server: http://{args.host}:{args.port}/v1 ({args.pacing} pacing, '
          f'{config.agent.description}, {describe_vad(config.engine.vad)}, '
          f'{describe_turn_model(config.engine.turn_model)}{f", pid {os.getpid()}" if sock else ""})',
          flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(config), host=args.host, port=args.port, log_level='warning',
                                           **server_options(config.limits)))
    server.run(sockets=[sock] if sock else None)


if __name__ == '__main__':
    main()
