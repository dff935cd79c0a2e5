"""Users files as editors and mistakes leave them: a UTF-8 byte-order mark (Windows Notepad), CRLF line ends, a
line of a megabyte, scrypt parameters far too large; each is read, or stops the start naming its line."""
from __future__ import annotations

import pytest

from voice_ui.access.users_file import MAX_FILE_BYTES, UsersFileError, hash_password, load_users


def test_a_byte_order_mark_and_crlf_lines_are_read(tmp_path):
    path = tmp_path / 'users.txt'
    path.write_bytes(b'\xef\xbb\xbf' + f'ana:{hash_password("ana-secret-1").encode()}\r\n# x\r\n'.encode())
    users = load_users(path)
    assert list(users) == ['ana'] and users['ana'].matches('ana-secret-1')


@pytest.mark.parametrize(('text', 'words'), [
    ('ana:' + 'x' * (MAX_FILE_BYTES - 10), 'line 1'),
    ('ana:scrypt$' + '9' * 5000 + '$8$1$AAAAAAAAAAA=$' + 'A' * 44, 'line 1: the hash has a non-numeric'),
    ('ana:scrypt$1073741824$8$1$AAAAAAAAAAA=$' + 'A' * 44, 'line 1: the scrypt parameters are out of range'),
    ('\n' * 1000 + 'bad line', 'line 1001'),
])
def test_huge_or_costly_lines_name_their_line(tmp_path, text, words):
    path = tmp_path / 'users.txt'
    path.write_text(text)
    with pytest.raises(UsersFileError, match=words):
        load_users(path)


def test_the_cli_reads_a_bom_file_and_says_why_it_cannot_read_another(tmp_path, capsys):
    from voice_ui.users import main
    path = tmp_path / 'users.txt'
    path.write_bytes(b'\xef\xbb\xbf' + f'ana:{hash_password("ana-secret-1").encode()}\n'.encode())
    assert main(['list', '--file', str(path)]) == 0 and capsys.readouterr().out == 'ana\n'
    path.write_bytes(b'ana:\xff\xfe\n')
    assert main(['list', '--file', str(path)]) == 1
    assert 'cannot read' in capsys.readouterr().err
