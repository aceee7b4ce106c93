"""adb authentication, device side: a phone that has not (yet) trusted this host's key.

Facts from AOSP `packages/modules/adb` (protocol.txt, adb_auth.h, adb.cpp,
client/auth.cpp, libcrypto_utils android_pubkey): a device that wants auth
answers the host's CNXN with AUTH(TOKEN=1, 0, 20 random bytes). The host signs
the token with each private key it has (AUTH(SIGNATURE=2, 0, sig): PKCS#1 v1.5
with a SHA-1 DigestInfo around the raw token); a bad signature is answered
with a fresh token. Out of keys, the host marks the device `unauthorized` and
sends AUTH(RSAPUBLICKEY=3, 0, "<base64 key> user@host\\0"); the phone shows
"Allow USB debugging?" and, once the user taps Allow, sends its CNXN.

Checking a signature needs only the modulus and a modular power, so trusted
keys really are checked: after `accept-after` trusted the host's key, the
adb server's next connection gets in by signature, as with a real phone.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
import threading
from dataclasses import dataclass

from harness.errors import SimulatorError

AUTH_TOKEN = 1
AUTH_SIGNATURE = 2
AUTH_RSAPUBLICKEY = 3
TOKEN_SIZE = 20

MODULUS_BYTES = 256  # ANDROID_PUBKEY_MODULUS_SIZE (2048-bit keys only)
_KEY_STRUCT = struct.Struct(f"<II{MODULUS_BYTES}s{MODULUS_BYTES}sI")  # 524 bytes
# DER DigestInfo prefix for SHA-1 (RFC 8017 9.2 note 1).
_SHA1_DIGEST_INFO = bytes.fromhex("3021300906052b0e03021a05000414")


@dataclass(frozen=True)
class AuthPolicy:
    """What the phone does with a host: `none` (no auth), `refuse`, `accept-after` delay_s."""

    mode: str = "none"
    delay_s: float = 0.0

    @property
    def required(self) -> bool:
        return self.mode != "none"

    def __str__(self) -> str:
        return f"accept-after:{self.delay_s:g}" if self.mode == "accept-after" else self.mode


def parse_policy(value: str | AuthPolicy | None) -> AuthPolicy:
    """`None`/`none`, `refuse` or `accept-after:SECONDS` -> AuthPolicy (SimulatorError if not)."""
    if isinstance(value, AuthPolicy):
        return value
    text = (value or "none").strip().lower()
    if text in ("none", "refuse"):
        return AuthPolicy(text)
    mode, sep, seconds = text.partition(":")
    if mode == "accept-after" and sep:
        try:
            delay = float(seconds)
        except ValueError:
            delay = -1.0
        if math.isfinite(delay) and delay >= 0:
            return AuthPolicy("accept-after", delay)
    raise SimulatorError(f"auth {value!r}: expected none, refuse or accept-after:SECONDS")


@dataclass(frozen=True)
class PublicKey:
    """An adb host key: RSA modulus and exponent, plus the `user@host` comment."""

    modulus: int
    exponent: int
    comment: str


def parse_public_key(payload: bytes) -> PublicKey | None:
    """The AUTH(RSAPUBLICKEY) payload `base64 comment\\0` -> PublicKey, None if malformed."""
    text = payload.rstrip(b"\0").decode("ascii", "replace").strip()
    b64, _, comment = text.partition(" ")
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _KEY_STRUCT.size:
        return None
    words, _n0inv, modulus, _rr, exponent = _KEY_STRUCT.unpack(raw)
    if words != MODULUS_BYTES // 4:
        return None
    return PublicKey(int.from_bytes(modulus, "little"), exponent, comment.strip())


def verify(key: PublicKey, token: bytes, signature: bytes) -> bool:
    """True if `signature` is `key`'s RSA_sign(NID_sha1, token) (what adbd_auth_verify checks)."""
    if len(signature) != MODULUS_BYTES or key.modulus <= 0:
        return False
    value = int.from_bytes(signature, "big")
    if value >= key.modulus:
        return False
    block = pow(value, key.exponent, key.modulus).to_bytes(MODULUS_BYTES, "big")
    digest_info = _SHA1_DIGEST_INFO + token
    padding = MODULUS_BYTES - 3 - len(digest_info)
    return block == b"\x00\x01" + b"\xff" * padding + b"\x00" + digest_info


class KeyStore:
    """The keys the phone trusts (its /data/misc/adb/adb_keys), shared across connections."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: list[PublicKey] = []

    def add(self, key: PublicKey) -> None:
        with self._lock:
            if key not in self._keys:
                self._keys.append(key)

    def clear(self) -> None:
        """Like Settings > Developer options > Revoke USB debugging authorizations."""
        with self._lock:
            self._keys.clear()

    def keys(self) -> list[PublicKey]:
        with self._lock:
            return list(self._keys)

    def trusts(self, token: bytes, signature: bytes) -> bool:
        return any(verify(k, token, signature) for k in self.keys())
