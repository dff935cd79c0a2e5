"""`python -m voice_ui.users add|remove|list NAME [--file PATH]`: keep the users file of `name:scrypt-hash` lines.

The file defaults to $VOICE_UI_USERS_FILE (or `users.txt`). Passwords are read without echo, twice (or one line
from stdin when it is piped or with `--password-stdin`, for scripts) and never printed.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from .access.revocation import revoke_user
from .access.users_file import NAME, UsersFileError, hash_password, parse_users
from .config import settings_from_env

MIN_PASSWORD = 8


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m voice_ui.users', description=__doc__.splitlines()[0])
    parser.add_argument('command', choices=['add', 'remove', 'list'])
    parser.add_argument('name', nargs='?')
    parser.add_argument('--file', default=os.environ.get('VOICE_UI_USERS_FILE') or 'users.txt',
                        help='users file (default: $VOICE_UI_USERS_FILE or users.txt)')
    parser.add_argument('--password-stdin', action='store_true', help='read the password from one stdin line')
    args = parser.parse_args(argv)
    path = Path(args.file)
    try:
        lines = path.read_text(encoding='utf-8-sig').splitlines() if path.is_file() else []
    except (OSError, UnicodeDecodeError) as error:
        return fail(f'cannot read {path}: {type(error).__name__}')
    try:
        users = parse_users('\n'.join(lines), path.name)
    except UsersFileError as error:
        return fail(f'{error} — fix or remove that line first')
    if args.command == 'list':
        for name in users:
            print(name)
        return 0
    if not args.name or not NAME.fullmatch(args.name):
        return fail('NAME must be 1-64 letters, digits or ._@+- (starting with a letter or digit)')
    kept = [line for line in lines if line.strip().partition(':')[0] != args.name]
    if args.command == 'remove':
        if args.name not in users:
            return fail(f'{args.name} is not in {path}')
        write(path, kept)
        print(f'removed {args.name} from {path}')
        print(revoke_user(settings_from_env(), args.name))  # their open pages leave, on every replica
        return 0
    password = read_password(args.password_stdin or not sys.stdin.isatty())  # piped in: one line, no prompt
    if password is None:
        return 1
    write(path, [*kept, f'{args.name}:{hash_password(password).encode()}'])
    print(f'{"updated" if args.name in users else "added"} {args.name} in {path}')
    return 0


def read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        password = sys.stdin.readline().rstrip('\r\n')
    else:
        password = getpass.getpass('Password: ')
        if getpass.getpass('Repeat it: ') != password:
            fail('the two passwords differ')
            return None
    if len(password) < MIN_PASSWORD:
        fail(f'the password must have at least {MIN_PASSWORD} characters')
        return None
    return password


def write(path: Path, lines: list[str]) -> None:
    """Replace the file in one step, readable only by its owner (it holds password hashes)."""
    temporary = path.with_name(path.name + '.tmp')
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, 'w', encoding='utf-8') as handle:
        handle.write(''.join(line + '\n' for line in lines))
    os.replace(temporary, path)


def fail(message: str) -> int:
    print(f'error: {message}', file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
