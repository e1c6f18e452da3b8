"""A SHA-256 whose running state can be saved between HTTP requests.

A tus upload arrives as several PATCH requests, possibly served by different processes, with pauses
of hours in between. ``hashlib`` objects cannot be saved, so resuming would mean reading the received
bytes again. OpenSSL's SHA256_CTX is a plain 112-byte struct: through ``ctypes`` we keep it in the
database and carry on hashing exactly where the last request stopped, at OpenSSL speed (SHA-NI).
If this libcrypto lacks the (deprecated but still exported) SHA256_* functions, we fall back to
hashlib and re-read the received prefix once on resume.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
from pathlib import Path

_CTX_SIZE = 112  # sizeof(SHA256_CTX): h[8], Nl, Nh, data[16], num, md_len (all 32-bit)


def _load_libcrypto():
    name = ctypes.util.find_library("crypto")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
        lib.SHA256_Init.argtypes = [ctypes.c_void_p]
        lib.SHA256_Update.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.SHA256_Final.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    except (OSError, AttributeError):
        return None
    return lib


_LIB = _load_libcrypto()


class ResumableSha256:
    """SHA-256 with ``state()`` / ``from_state()``; ``state()`` is None when it cannot be saved."""

    def __init__(self) -> None:
        if _LIB is not None:
            self._ctx = ctypes.create_string_buffer(_CTX_SIZE)
            _LIB.SHA256_Init(self._ctx)
            self._fallback = None
        else:
            self._ctx = None
            self._fallback = hashlib.sha256()

    @classmethod
    def from_state(cls, state: bytes | None, prefix: Path | None = None, length: int = 0) -> ResumableSha256:
        """Resume from a saved state; without one, re-hash the first ``length`` bytes of ``prefix``."""
        digest = cls()
        if state and _LIB is not None and len(state) == _CTX_SIZE:
            digest._ctx = ctypes.create_string_buffer(bytes(state), _CTX_SIZE)
            return digest
        if prefix is not None and length:
            with open(prefix, "rb") as handle:
                remaining = length
                while remaining:
                    chunk = handle.read(min(remaining, 1024 * 1024))
                    if not chunk:
                        raise ValueError(f"{prefix} is shorter than the {length} bytes recorded")
                    digest.update(chunk)
                    remaining -= len(chunk)
        return digest

    def update(self, data: bytes) -> None:
        if self._ctx is not None:
            _LIB.SHA256_Update(self._ctx, data if isinstance(data, bytes) else bytes(data), len(data))
        else:
            self._fallback.update(data)

    def state(self) -> bytes | None:
        return bytes(self._ctx.raw) if self._ctx is not None else None

    def hexdigest(self) -> str:
        if self._ctx is None:
            return self._fallback.hexdigest()
        out = ctypes.create_string_buffer(32)
        copy = ctypes.create_string_buffer(self._ctx.raw, _CTX_SIZE)  # Final must not end our own state
        _LIB.SHA256_Final(out, copy)
        return out.raw.hex()
