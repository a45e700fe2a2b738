"""htpasswd lines hashed on the controller with SHA-512 crypt (`$6$`), which nginx verifies.

nginx checks basic-auth passwords with the system's crypt(3), and Debian's libxcrypt supports
`$6$`. Python's `crypt` module is deprecated (gone in 3.13), so the scheme is implemented here
from its specification (Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512"). The default
5000 rounds are kept on purpose: nginx hashes on every request, so more rounds cost latency on
each API call.
"""

from __future__ import annotations

import hashlib
import secrets

_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SALT_CHARS = frozenset(_ALPHABET)
ROUNDS = 5000
# Byte triples of the final digest, in the order the specification encodes them.
_ORDER = [(0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26),
          (6, 27, 48), (28, 49, 7), (50, 8, 29), (9, 30, 51), (31, 52, 10), (53, 11, 32),
          (12, 33, 54), (34, 55, 13), (56, 14, 35), (15, 36, 57), (37, 58, 16), (59, 17, 38),
          (18, 39, 60), (40, 61, 19), (62, 20, 41)]


def new_salt(length: int = 16) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def sha512_crypt(password: str, salt: str) -> str:
    """`$6$salt$hash`, as crypt(3) computes it with the default number of rounds."""
    if not salt or len(salt) > 16 or not set(salt) <= SALT_CHARS:
        raise ValueError("a SHA-512 crypt salt is 1 to 16 characters of [./0-9A-Za-z]")
    key, salt_b = password.encode(), salt.encode()

    alternate = hashlib.sha512(key + salt_b + key).digest()
    digest_a = hashlib.sha512(key + salt_b)
    digest_a.update(_stretch(alternate, len(key)))
    length = len(key)
    while length:
        digest_a.update(alternate if length & 1 else key)
        length >>= 1
    intermediate = digest_a.digest()

    p_bytes = _stretch(hashlib.sha512(key * len(key)).digest(), len(key))
    s_bytes = _stretch(hashlib.sha512(salt_b * (16 + intermediate[0])).digest(), len(salt_b))

    for round_no in range(ROUNDS):
        c = hashlib.sha512()
        c.update(p_bytes if round_no & 1 else intermediate)
        if round_no % 3:
            c.update(s_bytes)
        if round_no % 7:
            c.update(p_bytes)
        c.update(intermediate if round_no & 1 else p_bytes)
        intermediate = c.digest()

    return f"$6${salt}${_encode(intermediate)}"


def _stretch(block: bytes, length: int) -> bytes:
    """`length` bytes made of whole copies of a 64-byte block and a final partial one."""
    return block * (length // 64) + block[: length % 64]


def _encode(digest: bytes) -> str:
    out = []
    for a, b, c in _ORDER:
        out.append(_b64(digest[a] << 16 | digest[b] << 8 | digest[c], 4))
    out.append(_b64(digest[63], 2))
    return "".join(out)


def _b64(value: int, count: int) -> str:
    chars = []
    for _ in range(count):
        chars.append(_ALPHABET[value & 0x3F])
        value >>= 6
    return "".join(chars)


def htpasswd(users: dict[str, str], salts: dict[str, str]) -> str:
    """The file's text; a user keeps the salt the host already has, so unchanged passwords
    produce an unchanged file (no reload), while new users get a fresh random salt."""
    lines = []
    for user in sorted(users):
        salt = salts.get(user)
        if not salt or len(salt) > 16 or not set(salt) <= SALT_CHARS:
            salt = new_salt()
        lines.append(f"{user}:{sha512_crypt(users[user], salt)}")
    return "".join(line + "\n" for line in lines)
