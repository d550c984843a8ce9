#!/usr/bin/env python3
"""Independent reader and verifier for the hg-bft storage format, version 1.

Written from docs/FORMAT.md and docs/ACCESS-CONTROL.md alone (no knowledge of the Swift
sources), to prove that the documents are enough to read and audit a repository: objects,
validity (including rule 6, the author's role in its causal past), the membership function
and the state computed from the changes with effect.

Usage:
    python3 hgbft_check.py <repository-root>     audit a repository
    python3 hgbft_check.py --vectors <file>      check the worked-example vectors

Exit status: 0 valid, 1 problems found, 2 usage error.

Requires Python 3.8+ and the `cryptography` package (to derive the identity's public
key from its seed, and to re-sign the worked examples). Signature verification is done
here in pure Python with libsodium 1.0.18's rules (FORMAT.md 2.8), not by the package.

Output: summary lines, among them "admin quorum: K (epoch E)", one
"member <peer-id> <admin|writer> rank <n|unranked> [added-in <add id>] [contested]" line per
member, "without effect <id> <operation>: <reason>" per membership operation without effect
and "change without effect <id> by <peer-id>" per change without effect; "equivocation:"
lines (one per pair, not a problem); "note:"
lines for states FORMAT.md says readers recover from (stale or behind caches and refs, a
torn tail); "warning:" lines; "problem:" lines, which make the exit status 1.
"""

import hashlib
import heapq
import itertools
import os
import re
import stat
import sys
import zlib

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization
except ImportError:  # pragma: no cover - reported at run time
    Ed25519PrivateKey = None  # type: ignore


# --------------------------------------------------------------------------
# Constants (FORMAT.md sections 1, 2, 5, 7)
# --------------------------------------------------------------------------

OBJECT_DOMAIN = b"hg-bft object v1\x00"          # 2.1 (17 bytes)
OPERATION_DOMAIN = b"hg-bft operation v1\x00"    # 2.8 (20 bytes)
PEER_ID_DOMAIN = b"hg-bft peer id v1\x00"        # 2.10
STATE_DOMAIN = b"hg-bft state v1\x00"            # 4.1

TYPE_BLOB = 0x01
TYPE_OPERATION = 0x02
FORMAT_VERSION = 0x01

KIND_GENESIS = 0x01
KIND_CHANGE = 0x02
KIND_MEMBERSHIP = 0x03                           # 2.11

ACTION_ADD = 0x01                                # 2.11 membership actions
ACTION_REMOVE = 0x02
ACTION_SET_ROLE = 0x03
ACTION_SET_QUORUM = 0x04
ROLE_ADMIN = 0x01                                # 2.11 role bytes
ROLE_WRITER = 0x02
ROLE_NAMES = {ROLE_ADMIN: "admin", ROLE_WRITER: "writer"}
ACTION_NAMES = {ACTION_ADD: "add", ACTION_REMOVE: "remove", ACTION_SET_ROLE: "set-role",
                ACTION_SET_QUORUM: "set-quorum"}

MODE_DELETE = 0x00
MODE_FILE = 0x01
MODE_EXEC = 0x02

MAX_BLOB_CONTENT = 67_108_864                    # 64 MiB
MAX_BLOB_ENCODING = MAX_BLOB_CONTENT + 2         # 67,108,866: the largest object
MAX_OPERATION = 16_777_216                       # 16 MiB
MAX_PARENTS = 1024
MAX_MESSAGE = 65_536
MAX_ENTRIES = 262_144
MAX_PATH = 4096
MAX_COMPONENT = 255
MAX_INDEX_PAYLOAD = 1_048_576
MAX_LOOSE_FILE = 67_108_866 + 67_108 + 4_096     # 5.5: largest object + zlib expansion

FORMAT_MARKER = b"hg-bft repository format 1\n"  # 5.1 (27 bytes)
INDEX_HEADER = b"hg-bft index v1\n"              # 5.6 (16 bytes)
STATE_HEADER = b"hg-bft state v1\n"              # 5.9 (16 bytes)
MEMBERS_HEADER = b"hg-bft members v1\n"          # 5.9.1 (18 bytes)
GRAPH_HEADER = b"hg-bft graph v1\n"              # 5.9.2 (16 bytes)
WORKTREE_HEADER = b"hg-bft worktree1"            # 5.10 (16 bytes, no newline)
BASE_HEADER = b"hg-bft base v1\n\n"               # 5.13 (16 bytes)
PACK_HEADER = b"hg-bft pack v1\n\x00"            # 5.5.1 (16 bytes)
PACK_INDEX_HEADER = b"hg-bft packidx1\n"         # 5.5.1 (16 bytes)
HEADS_PREFIX = "hg-bft heads v1 "                # 5.7
REF_PREFIX = "hg-bft ref v1 "                    # 5.8
IDENTITY_FIRST = "hg-bft identity v1"            # 5.4

B32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
HEX_DIGITS = set("0123456789abcdef")


class DecodeError(Exception):
    """A byte string that does not decode under FORMAT.md's strict rules."""


def blake2b256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def object_id(encoding: bytes) -> bytes:
    """2.1: id = BLAKE2b-256("hg-bft object v1" || 0x00 || encoding)."""
    return blake2b256(OBJECT_DOMAIN + encoding)


def is_lower_hex(text: str, length: int) -> bool:
    return len(text) == length and all(c in HEX_DIGITS for c in text)


def is_canonical_decimal(text: str) -> bool:
    return text.isascii() and text.isdigit() and (text == "0" or not text.startswith("0"))


# --------------------------------------------------------------------------
# 1.1 Varint
# --------------------------------------------------------------------------

def read_varint(buf: bytes, pos: int):
    """Strict unsigned LEB128: minimal, at most 10 bytes, 10th byte only 0x01."""
    result = 0
    for i in range(10):
        if pos >= len(buf):
            raise DecodeError("truncated varint")
        b = buf[pos]
        pos += 1
        if i == 9:
            if b > 0x01:
                raise DecodeError("varint overflows 64 bits")
            if b == 0x00:
                raise DecodeError("non-minimal varint")
            return result | (b << 63), pos
        result |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            if b == 0 and i > 0:
                raise DecodeError("non-minimal varint")
            return result, pos
    raise DecodeError("varint longer than 10 bytes")  # unreachable


def encode_varint(value: int) -> bytes:
    if value < 0 or value >= 1 << 64:
        raise ValueError("varint out of range")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class Reader:
    def __init__(self, buf: bytes, what: str = "field"):
        self.buf = buf
        self.pos = 0
        self.what = what

    def take(self, n: int, name: str) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise DecodeError(f"truncated {name}")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def byte(self, name: str) -> int:
        return self.take(1, name)[0]

    def varint(self, name: str) -> int:
        try:
            value, self.pos = read_varint(self.buf, self.pos)
        except DecodeError as e:
            raise DecodeError(f"{name}: {e}") from None
        return value

    def prefixed(self, name: str, limit=None) -> bytes:
        n = self.varint(name + " length")
        if limit is not None and n > limit:
            raise DecodeError(f"{name} longer than {limit} bytes")
        return self.take(n, name)

    def remaining(self) -> int:
        return len(self.buf) - self.pos

    def at_end(self) -> bool:
        return self.pos == len(self.buf)


def check_utf8(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise DecodeError(f"{name} is not valid UTF-8") from None


# --------------------------------------------------------------------------
# 2.9 Paths
# --------------------------------------------------------------------------

def path_error(path: bytes):
    """Returns None when `path` is valid under 2.9, else a reason."""
    if not 1 <= len(path) <= MAX_PATH:
        return f"path length {len(path)} outside 1..{MAX_PATH}"
    try:
        text = path.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return "path is not valid UTF-8"
    for b in path:
        if b < 0x20 or b == 0x7F:
            return f"path contains control byte 0x{b:02x}"
    for c in text:
        if 0x80 <= ord(c) <= 0x9F:
            return f"path contains C1 control U+{ord(c):04X}"
    for comp in path.split(b"/"):
        if len(comp) == 0:
            return "path has an empty component (leading, trailing or double '/')"
        if len(comp) > MAX_COMPONENT:
            return f"path component longer than {MAX_COMPONENT} bytes"
        if comp in (b".", b".."):
            return f"path component {comp.decode()!r} is not allowed"
        if comp.lower() == b".hgrepo":  # ASCII case-insensitive (bytes.lower is ASCII-only)
            return f"path component {show_path(comp)!r} names the metadata directory"
    return None


def show_path(path: bytes) -> str:
    return path.decode("utf-8", errors="backslashreplace")


# --------------------------------------------------------------------------
# 2.10 Peer ids
# --------------------------------------------------------------------------

def b32_encode(data: bytes) -> str:
    bits = 0
    nbits = 0
    out = []
    for b in data:
        bits = (bits << 8) | b
        nbits += 8
        while nbits >= 5:
            nbits -= 5
            out.append(B32_ALPHABET[(bits >> nbits) & 31])
    if nbits:
        out.append(B32_ALPHABET[(bits << (5 - nbits)) & 31])
    return "".join(out)


def peer_id_checksum(key: bytes) -> bytes:
    return blake2b256(PEER_ID_DOMAIN + key)[:2]


def peer_id_text(key: bytes) -> str:
    return "hg" + b32_encode(key + peer_id_checksum(key))


def parse_peer_id(text: str) -> bytes:
    """2.10: returns the 32-byte key or raises DecodeError."""
    if len(text) != 57:
        raise DecodeError(f"peer id has {len(text)} characters, not 57")
    if not text.startswith("hg"):
        raise DecodeError("peer id does not start with 'hg'")
    value = 0
    for c in text[2:]:
        idx = B32_ALPHABET.find(c)
        if idx < 0 or not c:
            raise DecodeError(f"peer id character {c!r} outside the base32 alphabet")
        value = (value << 5) | idx
    # 55 characters = 275 bits: 272 data bits then 3 padding bits.
    if value & 0b111:
        raise DecodeError("peer id padding bits are not zero")
    raw = (value >> 3).to_bytes(34, "big")
    key, checksum = raw[:32], raw[32:]
    if peer_id_checksum(key) != checksum:
        raise DecodeError("peer id checksum does not match")
    return key


# --------------------------------------------------------------------------
# 2.8 Ed25519 verification with libsodium's extra rules
# --------------------------------------------------------------------------

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _decode_point(enc: bytes):
    """Decodes an Edwards25519 point; None when it is non-canonical or off the curve."""
    y = int.from_bytes(enc, "little") & ((1 << 255) - 1)
    sign = enc[31] >> 7
    if y >= _P:
        return None
    y2 = y * y % _P
    u = (y2 - 1) % _P
    v = (_D * y2 + 1) % _P
    x2 = u * pow(v, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = (_P - x) % _P
    return (x, y, 1, x * y % _P)


def _double(pt):
    x1, y1, z1, _ = pt
    a = x1 * x1 % _P
    b = y1 * y1 % _P
    c = 2 * z1 * z1 % _P
    h = (a + b) % _P
    e = (h - (x1 + y1) * (x1 + y1)) % _P
    g = (a - b) % _P
    f = (c + g) % _P
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def has_small_order(enc: bytes) -> bool:
    """True when the encoded point has order dividing 8 (or does not decode)."""
    pt = _decode_point(enc)
    if pt is None:
        return True
    for _ in range(3):
        pt = _double(pt)
    x, y, z, _ = pt
    return x % _P == 0 and (y - z) % _P == 0


def pubkey_problem(key: bytes):
    y = int.from_bytes(key, "little") & ((1 << 255) - 1)
    if y >= _P:
        return "public key is a non-canonical encoding"
    if _decode_point(key) is None:
        return "public key is not a curve point"
    if has_small_order(key):
        return "public key has small order"
    return None


def _add(p1, p2):
    """Extended-coordinate point addition (RFC 8032, 5.1.4)."""
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = 2 * _D * t1 * t2 % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(scalar: int, pt):
    result = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, pt)
        pt = _double(pt)
        scalar >>= 1
    return result


def _encode_point(pt) -> bytes:
    x, y, z, _ = pt
    zi = pow(z, _P - 2, _P)
    x, y = x * zi % _P, y * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


_BASE = _decode_point((4 * pow(5, _P - 2, _P) % _P).to_bytes(32, "little"))
_BASE_POWERS = []  # [2^i]B for i < 253, filled on first use


def _mul_base(scalar: int):
    if not _BASE_POWERS:
        pt = _BASE
        for _ in range(253):
            _BASE_POWERS.append(pt)
            pt = _double(pt)
    result = (0, 1, 1, 0)
    i = 0
    while scalar:
        if scalar & 1:
            result = _add(result, _BASE_POWERS[i])
        scalar >>= 1
        i += 1
    return result


def verify_signature(author: bytes, message: bytes, signature: bytes):
    """Returns None when the signature verifies, else a reason.

    FORMAT.md 2.8: libsodium 1.0.18's crypto_sign_verify_detached. Reject S >= L, a
    public key that is non-canonical (y >= p), off the curve or of small order, and an R
    of small order; then accept only when [S]B - [k]A encodes to exactly the bytes of R
    (cofactorless; a non-canonical R therefore fails). Implemented here in pure Python
    so that no library's own acceptance rules (OpenSSL's differ in corner cases) decide.
    """
    if len(signature) != 64 or len(author) != 32:
        return "signature is not 64 bytes or key is not 32 bytes"
    r_bytes, s = signature[:32], int.from_bytes(signature[32:], "little")
    if s >= _L:
        return "non-canonical signature (S >= group order)"
    if has_small_order(r_bytes):
        return "signature R has small order or does not decode"
    reason = pubkey_problem(author)
    if reason:
        return reason
    a = _decode_point(author)
    k = int.from_bytes(hashlib.sha512(r_bytes + author + message).digest(), "little") % _L
    neg_a = ((_P - a[0]) % _P, a[1], a[2], (_P - a[3]) % _P)
    check = _add(_mul_base(s), _mul(k, neg_a))
    if _encode_point(check) != r_bytes:
        return "signature does not verify"
    return None


# --------------------------------------------------------------------------
# 2.2 - 2.7 Objects
# --------------------------------------------------------------------------

class Blob:
    type_name = "blob"

    def __init__(self, encoding: bytes):
        self.encoding = encoding
        self.content = encoding[2:]
        self.id = object_id(encoding)


class Operation:
    type_name = "operation"

    def __init__(self):
        self.encoding = b""
        self.id = b""
        self.author = b""
        self.sequence = 0
        self.parents = []
        self.timestamp = 0
        self.kind = 0
        self.body = b""
        self.signature = b""
        # genesis
        self.quorum = None
        self.nonce = None
        # change
        self.message = b""
        self.entries = []  # (path bytes, mode, blob id or None)
        # membership (2.11)
        self.action = None
        self.member = None      # target key (add, remove, set role)
        self.role = None        # ROLE_ADMIN / ROLE_WRITER (add, set role)
        self.epoch = None       # set quorum
        self.new_quorum = None  # set quorum

    @property
    def signed_message(self) -> bytes:
        return OPERATION_DOMAIN + self.encoding[:-64]

    def kind_name(self) -> str:
        if self.kind == KIND_GENESIS:
            return "genesis"
        if self.kind == KIND_CHANGE:
            return "change"
        if self.kind == KIND_MEMBERSHIP:
            return "membership"
        return f"extension 0x{self.kind:02x}"

    def describe(self) -> str:
        """A membership operation in words (for reports)."""
        if self.kind != KIND_MEMBERSHIP:
            return self.kind_name()
        if self.action == ACTION_SET_QUORUM:
            return f"set-quorum epoch {self.epoch} value {self.new_quorum}"
        text = f"{ACTION_NAMES[self.action]} {peer_id_text(self.member)}"
        if self.role is not None:
            text += f" {ROLE_NAMES[self.role]}"
        return text


def decode_blob(enc: bytes) -> Blob:
    if len(enc) < 2:
        raise DecodeError("truncated object header")
    if enc[0] != TYPE_BLOB:
        raise DecodeError(f"not a blob (type 0x{enc[0]:02x})")
    if enc[1] != FORMAT_VERSION:
        raise DecodeError(f"unknown blob version 0x{enc[1]:02x}")
    if len(enc) - 2 > MAX_BLOB_CONTENT:
        raise DecodeError("blob content larger than 64 MiB")
    return Blob(enc)


def decode_operation(enc: bytes) -> Operation:
    if len(enc) > MAX_OPERATION:
        raise DecodeError("operation encoding larger than 16 MiB")
    r = Reader(enc)
    t = r.byte("type")
    if t != TYPE_OPERATION:
        raise DecodeError(f"not an operation (type 0x{t:02x})")
    v = r.byte("version")
    if v != FORMAT_VERSION:
        raise DecodeError(f"unknown operation version 0x{v:02x}")
    op = Operation()
    op.encoding = enc
    op.author = r.take(32, "author")
    op.sequence = r.varint("sequence")
    if op.sequence == 0:
        raise DecodeError("sequence is 0")
    count = r.varint("parent count")
    if count > MAX_PARENTS:
        raise DecodeError(f"parent count {count} exceeds {MAX_PARENTS}")
    parents = [r.take(32, "parent") for _ in range(count)]
    for a, b in zip(parents, parents[1:]):
        if not a < b:
            raise DecodeError("parents are not strictly ascending (unsorted or repeated)")
    op.parents = parents
    op.timestamp = r.varint("timestamp")
    op.kind = r.byte("kind")
    if op.kind < 0x80 and op.kind not in (KIND_GENESIS, KIND_CHANGE, KIND_MEMBERSHIP):
        raise DecodeError(f"undefined critical kind 0x{op.kind:02x}")
    blen = r.varint("body length")
    op.body = r.take(blen, "body")
    op.signature = r.take(64, "signature")
    if not r.at_end():
        raise DecodeError(f"{r.remaining()} bytes follow the signature")
    if op.kind == KIND_GENESIS:
        _decode_genesis_body(op)
        if op.parents:
            raise DecodeError("genesis operation has parents")
        if op.sequence != 1:
            raise DecodeError("genesis operation has a sequence other than 1")
    else:
        if op.kind == KIND_CHANGE:
            _decode_change_body(op)
        elif op.kind == KIND_MEMBERSHIP:
            _decode_membership_body(op)
        if not op.parents:
            raise DecodeError("non-genesis operation has no parents")
    op.id = object_id(enc)
    return op


def _decode_genesis_body(op: Operation):
    r = Reader(op.body)
    q = r.varint("admin quorum")
    if not 1 <= q <= 255:
        raise DecodeError(f"admin quorum {q} outside 1..255")
    op.quorum = q
    op.nonce = r.take(16, "nonce")
    if not r.at_end():
        raise DecodeError("bytes left over in genesis body")


def _decode_change_body(op: Operation):
    r = Reader(op.body)
    msg = r.prefixed("message", MAX_MESSAGE)
    check_utf8(msg, "message")
    op.message = msg
    n = r.varint("entry count")
    if not 1 <= n <= MAX_ENTRIES:
        raise DecodeError(f"entry count {n} outside 1..{MAX_ENTRIES}")
    entries = []
    prev = None
    for _ in range(n):
        path = r.prefixed("path")
        reason = path_error(path)
        if reason:
            raise DecodeError(f"entry {show_path(path)!r}: {reason}")
        if prev is not None and not prev < path:
            raise DecodeError("entries are not strictly ascending by path")
        prev = path
        mode = r.byte("mode")
        if mode not in (MODE_DELETE, MODE_FILE, MODE_EXEC):
            raise DecodeError(f"entry {show_path(path)!r}: unknown mode 0x{mode:02x}")
        blob = r.take(32, "blob id") if mode != MODE_DELETE else None
        entries.append((path, mode, blob))
    if not r.at_end():
        raise DecodeError("bytes left over in change body")
    op.entries = entries


def _decode_membership_body(op: Operation):
    """2.11: action byte, then its fields; every other action or role byte, a truncated
    field and trailing bytes are rejected. The member key is not checked to be a point."""
    r = Reader(op.body)
    action = r.byte("membership action")
    if action in (ACTION_ADD, ACTION_SET_ROLE):
        op.member = r.take(32, "member key")
        role = r.byte("role")
        if role not in (ROLE_ADMIN, ROLE_WRITER):
            raise DecodeError(f"unknown role byte 0x{role:02x}")
        op.role = role
    elif action == ACTION_REMOVE:
        op.member = r.take(32, "member key")
    elif action == ACTION_SET_QUORUM:
        op.epoch = r.varint("quorum epoch")
        q = r.varint("quorum")
        if not 1 <= q <= 255:
            raise DecodeError(f"quorum {q} outside 1..255")
        op.new_quorum = q
    else:
        raise DecodeError(f"unknown membership action 0x{action:02x}")
    if not r.at_end():
        raise DecodeError("bytes left over in membership body")
    op.action = action


def encode_membership_body(op: Operation) -> bytes:
    if op.action in (ACTION_ADD, ACTION_SET_ROLE):
        return bytes([op.action]) + op.member + bytes([op.role])
    if op.action == ACTION_REMOVE:
        return bytes([op.action]) + op.member
    return bytes([op.action]) + encode_varint(op.epoch) + encode_varint(op.new_quorum)


def decode_object(enc: bytes):
    if len(enc) < 2:
        raise DecodeError("truncated object header")
    if enc[0] == TYPE_BLOB:
        return decode_blob(enc)
    if enc[0] == TYPE_OPERATION:
        return decode_operation(enc)
    raise DecodeError(f"unknown object type 0x{enc[0]:02x}")


def inflate_object(raw: bytes) -> bytes:
    """5.5: one zlib stream, output limit 67,108,866, no trailing bytes."""
    if len(raw) > MAX_LOOSE_FILE:
        raise DecodeError(f"file is {len(raw)} bytes, over the {MAX_LOOSE_FILE}-byte limit")
    d = zlib.decompressobj()
    try:
        out = d.decompress(raw, MAX_BLOB_ENCODING + 1)
    except zlib.error as e:
        raise DecodeError(f"zlib: {e}") from None
    if len(out) > MAX_BLOB_ENCODING:
        raise DecodeError("inflates past the 67,108,866-byte limit")
    if not d.eof:
        raise DecodeError("truncated zlib stream")
    if d.unused_data or d.unconsumed_tail:
        raise DecodeError("bytes after the end of the zlib stream")
    return out


# --------------------------------------------------------------------------
# 5.6 Index records
# --------------------------------------------------------------------------

def index_payload(op: Operation) -> bytes:
    """The payload 5.6 says the record of `op` must hold."""
    if op.kind == KIND_CHANGE:
        count, message = len(op.entries), op.message
    else:
        count, message = 0, b""
    return b"".join([
        op.id, op.author, encode_varint(op.sequence), encode_varint(op.timestamp),
        bytes([op.kind]), encode_varint(len(op.parents)), b"".join(op.parents),
        encode_varint(count), encode_varint(len(message)), message,
    ])


def decode_index_payload(payload: bytes) -> dict:
    r = Reader(payload)
    rec = {"id": r.take(32, "id"), "author": r.take(32, "author")}
    rec["sequence"] = r.varint("sequence")
    rec["timestamp"] = r.varint("timestamp")
    rec["kind"] = r.byte("kind")
    n = r.varint("parent count")
    if n > MAX_PARENTS:
        raise DecodeError(f"parent count {n} exceeds {MAX_PARENTS}")
    rec["parents"] = [r.take(32, "parent") for _ in range(n)]
    rec["entries"] = r.varint("entry count")
    msg = r.prefixed("message", MAX_MESSAGE)
    check_utf8(msg, "message")
    rec["message"] = msg
    if not r.at_end():
        raise DecodeError("bytes left over in payload")
    return rec


def split_by_ends(ends, total: int, limit: int, what: str):
    """5.9.2: the ranges [end(n-1), end(n)) that a column of cumulative ends gives over `total`
    items, with end(-1) = 0; DecodeError unless the ends never decrease, no range is longer than
    `limit`, and the last end is `total`."""
    ranges, start = [], 0
    for node, end in enumerate(ends):
        if end < start or end - start > limit or end > total:
            raise DecodeError(f"operation {node}'s {what} end {end} goes backwards, past the last or over the limit")
        ranges.append((start, end))
        start = end
    if start != total:
        raise DecodeError(f"the {what} ends do not reach the last one")
    return ranges


def decode_graph_file(data: bytes) -> dict:
    """5.9.2: the columns of index/graph, checked against every rule a reader applies before
    it uses the file (all but those that need the index). Raises DecodeError."""
    if len(data) < 52 or data[:16] != GRAPH_HEADER:
        raise DecodeError("bad header or too short")
    if zlib.crc32(data[:-4]) & 0xFFFFFFFF != int.from_bytes(data[-4:], "little"):
        raise DecodeError("CRC-32 mismatch")
    u32 = lambda at: int.from_bytes(data[at:at + 4], "little")
    u64 = lambda at: int.from_bytes(data[at:at + 8], "little")
    stamp, last_crc = u64(16), data[24:28]
    n, a, p, m = u32(28), u32(32), u32(36), u64(40)
    if not (n < 2**31 - 1 and p < 2**31 - 1025 and a <= n and 24 <= stamp < 2**63):
        raise DecodeError(f"counts or stamp out of range (N {n}, A {a}, P {p}, stamp {stamp})")
    if len(data) != 48 + 32 * a + 73 * n + 4 * p + m + 4:
        raise DecodeError(f"{len(data)} bytes, not the {48 + 32 * a + 73 * n + 4 * p + m + 4} the counts give")
    at = 48
    table = [data[at + 32 * i:at + 32 * i + 32] for i in range(a)]
    at += 32 * a
    if len(set(table)) != a:
        raise DecodeError("an author is listed twice")
    ids = [data[at + 32 * i:at + 32 * i + 32] for i in range(n)]
    at += 32 * n
    numbers = [u32(at + 4 * i) for i in range(n)]
    at += 4 * n
    if any(x >= a for x in numbers) or len(set(numbers)) != a:
        raise DecodeError("an author number is out of range, or an author wrote nothing")
    sequences = [u64(at + 8 * i) for i in range(n)]
    at += 8 * n
    timestamps = [u64(at + 8 * i) for i in range(n)]
    at += 8 * n
    kinds = list(data[at:at + n])
    at += n
    entries = [u32(at + 4 * i) for i in range(n)]
    at += 4 * n
    if any(e > MAX_ENTRIES for e in entries):
        raise DecodeError("an entry count is over the limit")
    ends = [u32(at + 4 * i) for i in range(n)]
    at += 4 * n
    links = [u32(at + 4 * i) for i in range(p)]
    at += 4 * p
    parents = [links[a:b] for a, b in split_by_ends(ends, p, MAX_PARENTS, "parent")]
    for node, own in enumerate(parents):
        if any(x >= node for x in own):
            raise DecodeError(f"operation {node} names a parent that is not an earlier operation")
    message_ends = [u64(at + 8 * i) for i in range(n)]
    at += 8 * n
    messages = [data[at + a:at + b] for a, b in split_by_ends(message_ends, m, MAX_MESSAGE, "message")]
    at += m
    by_id = [u32(at + 4 * i) for i in range(n)]
    if any(x >= n for x in by_id) or any(not ids[x] < ids[y] for x, y in zip(by_id, by_id[1:])):
        raise DecodeError("the operations by id are out of range or not strictly ascending by id")
    return {"stamp": stamp, "last_crc": last_crc, "ids": ids, "authors": [table[x] for x in numbers],
            "sequences": sequences, "timestamps": timestamps, "kinds": kinds, "entries": entries,
            "parents": parents, "messages": messages}


# --------------------------------------------------------------------------
# 4.1 State encoding
# --------------------------------------------------------------------------

def encode_state(state: dict) -> bytes:
    """state: {path bytes: [(op id, mode, blob id or None), ...]}"""
    out = [encode_varint(len(state))]
    for path in sorted(state):
        writes = sorted(state[path], key=lambda w: w[0])
        out.append(encode_varint(len(path)) + path + encode_varint(len(writes)))
        for op_id, mode, blob in writes:
            out.append(op_id + bytes([mode]) + (blob if mode != MODE_DELETE else b""))
    return b"".join(out)


def decode_state(r: Reader) -> dict:
    state = {}
    count = r.varint("path count")
    prev = None
    for _ in range(count):
        path = r.prefixed("path")
        reason = path_error(path)
        if reason:
            raise DecodeError(f"path {show_path(path)!r}: {reason}")
        if prev is not None and not prev < path:
            raise DecodeError("paths not strictly ascending")
        prev = path
        n = r.varint("live write count")
        writes = []
        last = None
        for _ in range(n):
            op_id = r.take(32, "operation id")
            if last is not None and not last < op_id:
                raise DecodeError("live writes not strictly ascending by operation id")
            last = op_id
            mode = r.byte("mode")
            if mode not in (MODE_DELETE, MODE_FILE, MODE_EXEC):
                raise DecodeError(f"unknown mode 0x{mode:02x}")
            blob = r.take(32, "blob id") if mode != MODE_DELETE else None
            writes.append((op_id, mode, blob))
        state[path] = writes
    return state


def fingerprint(state_encoding: bytes) -> bytes:
    return blake2b256(STATE_DOMAIN + state_encoding)


# --------------------------------------------------------------------------
# Access control: rule 6 (FORMAT.md 3), effect (FORMAT.md 4), the membership
# function (docs/ACCESS-CONTROL.md section 4)
# --------------------------------------------------------------------------

class Ancestry:
    """Strict ancestry (x ≺ y) between operations registered parents-first, as bitsets.
    Parents that were never registered are ignored."""

    def __init__(self):
        self.bit = {}   # id -> 1 << registration index
        self.anc = {}   # id -> union of the bits of its strict ancestors

    def add(self, op):
        if op.id in self.bit:
            return
        a = 0
        for p in op.parents:
            if p in self.bit:
                a |= self.anc[p] | self.bit[p]
        self.bit[op.id] = 1 << len(self.bit)
        self.anc[op.id] = a

    def before(self, x: bytes, y: bytes) -> bool:
        """x ≺ y: x is a strict ancestor of y."""
        return bool(self.anc[y] & self.bit[x])

    def concurrent(self, x: bytes, y: bytes) -> bool:
        return x != y and not self.before(x, y) and not self.before(y, x)


UNRANKED = (float("inf"), b"")   # "unranked and least senior" (ACCESS-CONTROL.md 4, step 1)


class Membership:
    """The membership function of ACCESS-CONTROL.md section 4, from its text alone.

    `genesis` is the genesis operation (founder, id, admin quorum k0); `ops` a set E of valid
    membership operations (kind 0x03; the genesis is not in E) that holds, with each operation,
    every membership operation among its ancestors; `ancestry` answers x ≺ y for every
    operation involved (and for any other operation later asked about in role_at/has_effect).

    Results: members {key: role}, seniority {key: (rank, id)}, quorum, epoch, without_effect
    {id: reason} (V), removed {key: [applied removal ids]} (R), applied [ids in order].
    """

    def __init__(self, genesis, ops, ancestry: Ancestry):
        self.genesis = genesis
        self.founder = genesis.author
        self.anc = ancestry
        self.ops = sorted(ops, key=lambda o: ancestry.bit[o.id])   # parents first
        self.by_id = {o.id: o for o in self.ops}
        # grants per peer: (id, role); the genesis is a grant of admin to the founder (1)
        self.grants = {self.founder: [(genesis.id, ROLE_ADMIN)]}
        for o in self.ops:
            if o.action in (ACTION_ADD, ACTION_SET_ROLE):
                self.grants.setdefault(o.member, []).append((o.id, o.role))
        self._seniority()
        self._quorum()
        self._removals()
        self._members()

    # Step 1: seniority (Dijkstra on the grant graph: adds and set-roles)
    def _seniority(self):
        adds_by = {}
        for o in self.ops:
            if o.action in (ACTION_ADD, ACTION_SET_ROLE):
                adds_by.setdefault(o.author, []).append(o)
        key = {self.founder: (1, self.genesis.id)}
        settled = set()
        heap = [(1, self.genesis.id, self.founder)]
        while heap:
            rank, kid, p = heapq.heappop(heap)
            if p in settled or key[p] != (rank, kid):
                continue
            settled.add(p)
            for add in adds_by.get(p, []):
                q = add.member
                if q in settled:
                    continue
                offer = (rank + 1, add.id)
                if q not in key or offer < key[q]:
                    key[q] = offer
                    heapq.heappush(heap, (rank + 1, add.id, q))
        self.seniority = key

    def senior_key(self, peer: bytes):
        return self.seniority.get(peer, UNRANKED)

    # Step 2: the admin quorum
    def _quorum(self):
        proposals = {}   # epoch -> value -> set of authors
        for o in self.ops:
            if o.action == ACTION_SET_QUORUM:
                proposals.setdefault(o.epoch, {}).setdefault(o.new_quorum, set()).add(o.author)
        k, e = self.genesis.quorum, 0
        while True:
            backed = {v: a for v, a in proposals.get(e, {}).items() if len(a) >= k}
            if not backed:
                break
            k = min(backed, key=lambda v: (-len(backed[v]), v))
            e += 1
        self.quorum, self.epoch = k, e

    # The role of peer p at operation n, given V and R
    def role_at(self, p: bytes, n: bytes, V: dict, R: dict):
        before = self.anc.before
        earlier = [r for r in R.get(p, ()) if before(r, n)]
        live = [(g, role) for g, role in self.grants.get(p, ())
                if g not in V and before(g, n) and not any(before(g, r) for r in earlier)]
        return self._role_of(live)

    def _role_of(self, live):
        if not live:
            return None
        before = self.anc.before
        latest = [(g, role) for g, role in live if not any(before(g, h) for h, _ in live)]
        return ROLE_WRITER if any(role == ROLE_WRITER for _, role in latest) else ROLE_ADMIN

    def _closed(self, D: dict, R: dict) -> dict:
        """D closed under R, as a new set (D is not changed)."""
        V = dict(D)
        self._close(V, R)
        return V

    def _close(self, V: dict, R: dict):
        """Closing V under R: "repeat until nothing changes — every operation e in E not in V
        whose author's role at e is not admin goes into V". Read as rounds: each round finds
        every such operation against V as it was at the start of the round, then adds them
        all. (Adding one at a time in a parents-first order gives other results when voiding
        a demotion restores its target's admin role; hg-bft agrees with rounds.)"""
        while True:
            found = [e.id for e in self.ops
                     if e.id not in V and self.role_at(e.author, e.id, V, R) != ROLE_ADMIN]
            if not found:
                return
            for oid in found:
                V[oid] = "unsupported"

    # Step 3: removals
    def _removals(self):
        D, R = {}, {}
        V = self._closed(D, R)
        removers = {}
        for o in self.ops:
            if o.action == ACTION_REMOVE:
                removers.setdefault(o.member, set()).add(o.author)
        backed = {p for p, authors in removers.items() if len(authors) >= self.quorum}
        removal_like = [o for o in self.ops if o.action == ACTION_REMOVE
                        or (o.action == ACTION_SET_ROLE and o.role == ROLE_WRITER)]
        removal_like.sort(key=lambda o: (0 if o.action == ACTION_REMOVE and o.member in backed else 1,
                                         self.senior_key(o.author), o.id))
        applied = []
        concurrent = self.anc.concurrent
        for r in removal_like:
            if r.id in V:
                D[r.id] = V[r.id]
                continue
            p = r.member
            is_removal = r.action == ACTION_REMOVE
            D2 = dict(D)
            for e in self.ops:
                if e.id in D2 or not concurrent(e.id, r.id):
                    continue
                grants = e.action in (ACTION_ADD, ACTION_SET_ROLE) and e.member == p \
                    and (is_removal or e.role == ROLE_ADMIN)
                if e.author == p or grants:
                    D2[e.id] = f"concurrent with removal {r.id.hex()}"
            R2 = {q: list(v) for q, v in R.items()}
            if is_removal:
                R2.setdefault(p, []).append(r.id)
            T = self._closed(D2, R2)
            hit = next((a for a in applied if a in T), None)
            if hit is not None:
                D[r.id] = f"overridden by {hit.hex()}"
            elif r.id in T:
                D[r.id] = T[r.id]
            else:
                D, R = D2, R2
                applied.append(r.id)
            V = self._closed(D, R)
        self.without_effect, self.removed, self.applied = self._closed(D, R), R, applied

    # Step 4: members
    def _members(self):
        before = self.anc.before
        members = {}
        for p, grants in self.grants.items():
            removals = self.removed.get(p, ())
            live = [(g, role) for g, role in grants
                    if g not in self.without_effect and not any(before(g, r) for r in removals)]
            role = self._role_of(live)
            if role is not None:
                members[p] = role
        self.members = members
        # `member list` extras (section 4, step 4): contested, and the add that gives the rank
        contested = set()
        for oid in self.without_effect:
            o = self.by_id.get(oid)
            if o is not None:
                contested.add(o.author)
                if o.member is not None:
                    contested.add(o.member)
        for p, grants in self.grants.items():
            if p not in members:
                continue
            removals = self.removed.get(p, ())
            live = [(g, role) for g, role in grants
                    if g not in self.without_effect and not any(before(g, r) for r in removals)]
            latest = {role for g, role in live if not any(before(g, h) for h, _ in live)}
            if len(latest) > 1:
                contested.add(p)
        self.contested = {p for p in contested if p in members}

    def has_effect(self, op, valid: bool = True) -> bool:
        """The effect of a change (or extension) operation (section 4, last paragraph)."""
        a = op.author
        if valid and a not in self.removed and not any(
                g in self.without_effect for g, _ in self.grants.get(a, ())):
            return True   # the documented shortcut, for valid operations only
        if any(self.anc.concurrent(r, op.id) for r in self.removed.get(a, ())):
            return False
        return self.role_at(a, op.id, self.without_effect, self.removed) is not None


class Authorisation:
    """Rule 6 of FORMAT.md section 3 over operations validated parents-first: the author's
    role in the membership computed from the valid membership operations among the
    operation's strict ancestors, resolved once per distinct set of them."""

    def __init__(self, genesis, ancestry: Ancestry):
        self.genesis = genesis
        self.anc = ancestry
        self.member_ops = []     # valid membership operations, parents first
        self.member_mask = 0
        self.cache = {}          # bitmask of the membership ops in a causal past -> members

    def problem(self, op):
        """None when op's author holds the needed role in its causal past, else a reason."""
        if op.id == self.genesis.id:
            return None
        mask = self.anc.anc[op.id] & self.member_mask
        members = self.cache.get(mask)
        if members is None:
            past = [o for o in self.member_ops if self.anc.bit[o.id] & mask]
            members = Membership(self.genesis, past, self.anc).members
            self.cache[mask] = members
        role = members.get(op.author)
        if role is None:
            return (f"rule 6 (authorised-authors): its author {peer_id_text(op.author)} is not a member "
                    f"in the membership of its causal past")
        if op.kind == KIND_MEMBERSHIP and role != ROLE_ADMIN:
            return (f"rule 6 (authorised-authors): a membership operation by "
                    f"{peer_id_text(op.author)}, a writer, not an admin, in its causal past")
        return None

    def accept(self, op):
        """Records a valid operation (only membership operations matter)."""
        if op.kind == KIND_MEMBERSHIP:
            self.member_ops.append(op)
            self.member_mask |= self.anc.bit[op.id]

    def whole(self) -> Membership:
        return Membership(self.genesis, self.member_ops, self.anc)


def encode_members(stamp: int, members: dict) -> bytes:
    """5.9.1 index/members for `members` {key: role}, with its checksum."""
    body = MEMBERS_HEADER + encode_varint(stamp) + encode_varint(len(members)) + b"".join(
        key + bytes([members[key]]) for key in sorted(members))
    return body + blake2b256(body)


# --------------------------------------------------------------------------
# 5.3 config
# --------------------------------------------------------------------------

def parse_config(text: str):
    """Git-config style; returns ({'section.key' or 'section.sub.key': value}, errors)."""
    values = {}
    errors = []
    section = None
    for lineno, raw in enumerate(text.split("\n"), 1):
        # FORMAT.md does not say which whitespace is insignificant. hg-bft trims ASCII
        # white space, but a CRLF file's "[core]\r" is malformed for it (in Swift "\r\n"
        # is one Character, so such a file never splits into lines); we mirror that by
        # not trimming "\r" around section headers.
        line = raw.strip(" \t\f\v")
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                errors.append(f"line {lineno}: malformed section header")
                section = None
                continue
            inner = line[1:-1].strip()
            if not inner:
                errors.append(f"line {lineno}: empty section name")
                section = None
                continue
            if " " in inner:
                name, sub = inner.split(" ", 1)
                sub = sub.strip()
                if len(sub) >= 2 and sub[0] == '"' and sub[-1] == '"':
                    sub = sub[1:-1]
                section = name.lower() + "." + sub
            else:
                section = inner.lower()
            continue
        if "=" not in line:
            errors.append(f"line {lineno}: not a 'key = value' line")
            continue
        key, value = line.split("=", 1)
        key = key.strip(" \t\f\v\r\n").lower()
        value = value.strip(" \t\f\v\r\n")
        if not key:
            errors.append(f"line {lineno}: empty key")
            continue
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        if section is None:
            errors.append(f"line {lineno}: key outside any section")
            continue
        values[section + "." + key] = value
    return values, errors


# --------------------------------------------------------------------------
# The repository checker
# --------------------------------------------------------------------------

def hexid(b: bytes) -> str:
    return b.hex()


def short(b: bytes) -> str:
    return b.hex()[:12]


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and ".tmp-" in name


class Checker:
    def __init__(self, root: str):
        self.root = root
        self.meta = root
        self.problems = []
        self.warnings = []
        self.notes = []

    # -- reporting -----------------------------------------------------------

    def problem(self, where: str, msg: str):
        self.problems.append(f"{where}: {msg}")

    def warn(self, where: str, msg: str):
        self.warnings.append(f"{where}: {msg}")

    def note(self, where: str, msg: str):
        """Not a problem: a state FORMAT.md says readers recover from (stale caches, torn tails)."""
        self.notes.append(f"{where}: {msg}")

    def rel(self, *parts) -> str:
        return os.path.join(".hgrepo", *parts)

    def path(self, *parts) -> str:
        return os.path.join(self.meta, *parts)

    def read(self, *parts):
        try:
            with open(self.path(*parts), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None
        except OSError as e:
            self.problem(self.rel(*parts), f"cannot read: {e}")
            return None

    # -- entry point -----------------------------------------------------------

    def run(self) -> bool:
        if os.path.isdir(os.path.join(self.root, ".hgrepo")):
            self.meta = os.path.join(self.root, ".hgrepo")
        elif os.path.basename(os.path.normpath(self.root)) == ".hgrepo":
            self.meta = self.root
        else:
            self.problem(self.root, "no .hgrepo directory: not an hg-bft repository")
            return False
        if not self.check_format():
            return False
        self.repo_id = self.check_genesis_file()
        self.local_key = self.check_identity()
        self.check_config()
        self.load_objects()
        self.load_index()
        self.validate()
        self.compute_heads()
        self.check_heads_file()
        self.check_peer_refs()
        self.compute_membership()
        self.compute_state()
        self.check_state_cache()
        self.check_members_cache()
        self.check_graph_file()
        self.check_worktree_cache()
        self.check_base()
        self.check_lock()
        return True

    # -- 5.1 ----------------------------------------------------------------

    def check_format(self) -> bool:
        data = self.read("format")
        if data is None:
            self.problem(self.rel("format"), "missing")
            return False
        if data != FORMAT_MARKER:
            self.problem(self.rel("format"), f"unknown format marker {data[:40]!r}")
            return False
        return True

    # -- 5.2 ----------------------------------------------------------------

    def check_genesis_file(self):
        data = self.read("genesis")
        if data is None:
            self.problem(self.rel("genesis"), "missing (an interrupted init)")
            return None
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        if not (text.endswith("\n") and is_lower_hex(text[:-1], 64)):
            self.problem(self.rel("genesis"), "not 64 lowercase hex digits and a newline")
            return None
        return bytes.fromhex(text[:-1])

    # -- 5.4 ----------------------------------------------------------------

    def check_identity(self):
        where = self.rel("keys", "identity")
        keys_dir = self.path("keys")
        try:
            dmode = os.stat(keys_dir).st_mode
            if dmode & 0o077:
                self.warn(self.rel("keys"), f"directory mode {stat.S_IMODE(dmode):04o} (expected 0700)")
        except FileNotFoundError:
            pass
        try:
            st = os.lstat(self.path("keys", "identity"))
        except FileNotFoundError:
            self.problem(where, "missing")
            return None
        if not stat.S_ISREG(st.st_mode):
            self.problem(where, "not a regular file")
            return None
        if st.st_mode & 0o077:
            self.problem(where, f"mode {stat.S_IMODE(st.st_mode):04o}: group/other permission bits set (must be 0600)")
        data = self.read("keys", "identity")
        if data is None:
            return None
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            self.problem(where, "not ASCII")
            return None
        lines = text.split("\n")
        if len(lines) != 3 or lines[2] != "" or lines[0] != IDENTITY_FIRST \
                or not lines[1].startswith("seed ") or not is_lower_hex(lines[1][5:], 64):
            self.problem(where, "not exactly 'hg-bft identity v1' and 'seed <64 hex>' lines")
            return None
        seed = bytes.fromhex(lines[1][5:])
        priv = Ed25519PrivateKey.from_private_bytes(seed)
        return priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    # -- 5.3 ----------------------------------------------------------------

    def check_config(self):
        where = self.rel("config")
        data = self.read("config")
        if data is None:
            self.warn(where, "missing (defaults apply; core.peer cannot be checked)")
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.problem(where, "not valid UTF-8")
            return
        values, errors = parse_config(text)
        for e in errors:
            self.problem(where, e)
        peer = values.get("core.peer")
        if peer is None:
            self.warn(where, "core.peer is not set (the identity key cannot be checked against it)")
        else:
            try:
                key = parse_peer_id(peer)
            except DecodeError as e:
                self.problem(where, f"core.peer: {e}")
            else:
                if self.local_key is not None and key != self.local_key:
                    self.problem(where, "core.peer does not match the identity key in keys/identity")
        timeout = values.get("core.locktimeout")
        if timeout is not None and not is_canonical_decimal(timeout):
            self.warn(where, f"core.lockTimeout {timeout!r} is not a whole number of seconds")

    # -- 5.5 ----------------------------------------------------------------

    def load_objects(self):
        """Reads every loose object: {id: Blob | Operation}; damaged ones are problems."""
        self.objects = {}
        self.damaged = {}
        objdir = self.path("objects")
        if not os.path.isdir(objdir):
            self.problem(self.rel("objects"), "missing")
            return
        for fan in sorted(os.listdir(objdir)):
            fpath = os.path.join(objdir, fan)
            if is_temp_name(fan) or (fan == "pack" and os.path.isdir(fpath)):
                continue
            if not os.path.isdir(fpath) or not is_lower_hex(fan, 2):
                self.problem(self.rel("objects", fan), "unexpected entry in objects/ (not a fan-out directory)")
                continue
            for name in sorted(os.listdir(fpath)):
                if is_temp_name(name):
                    continue
                where = self.rel("objects", fan, name)
                full = os.path.join(fpath, name)
                if not is_lower_hex(name, 62) or not os.path.isfile(full):
                    self.problem(where, "file in the object store that is not named by an object id")
                    continue
                oid = bytes.fromhex(fan + name)
                try:
                    size = os.path.getsize(full)
                    if size > MAX_LOOSE_FILE:
                        raise DecodeError(f"file is {size} bytes, over the {MAX_LOOSE_FILE}-byte limit")
                    with open(full, "rb") as f:
                        raw = f.read()
                    enc = inflate_object(raw)
                    if object_id(enc) != oid:
                        raise DecodeError(f"content hashes to {object_id(enc).hex()}, not its name")
                    obj = decode_object(enc)
                except (DecodeError, OSError) as e:
                    self.problem(f"object {oid.hex()} ({where})", str(e))
                    self.damaged[oid] = str(e)
                    continue
                self.objects[oid] = obj
        self.load_packs()

    # -- 5.5.1 Packs -------------------------------------------------------------

    def load_packs(self):
        self.packs = 0
        self.packed_objects = 0
        packdir = self.path("objects", "pack")
        if not os.path.isdir(packdir):
            return
        packs, idxs = set(), set()
        for name in sorted(os.listdir(packdir)):
            if is_temp_name(name):
                continue
            m = re.fullmatch(r"pack-([0-9a-f]{64})\.(pack|idx)", name)
            if not m or not os.path.isfile(os.path.join(packdir, name)):
                self.problem(self.rel("objects", "pack", name), "unexpected entry in objects/pack")
                continue
            (packs if m.group(2) == "pack" else idxs).add(m.group(1))
        for h in sorted(packs | idxs):
            if h not in idxs:
                self.problem(self.rel("objects", "pack", f"pack-{h}.pack"),
                             "pack without its .idx (an interrupted write; its objects do not count)")
            elif h not in packs:
                self.problem(self.rel("objects", "pack", f"pack-{h}.idx"), "index without its .pack")
            else:
                self.check_pack(h)

    def check_pack(self, h: str):
        pwhere = self.rel("objects", "pack", f"pack-{h}.pack")
        iwhere = self.rel("objects", "pack", f"pack-{h}.idx")
        idx = self.read("objects", "pack", f"pack-{h}.idx")
        if idx is None:
            return
        # the .idx: header, count, entries, pack hash, checksum
        if len(idx) < 16 + 4 + 64 or idx[:16] != PACK_INDEX_HEADER:
            self.problem(iwhere, "bad header or too short")
            return
        if blake2b256(idx[:-32]) != idx[-32:]:
            self.problem(iwhere, "checksum mismatch")
            return
        count = int.from_bytes(idx[16:20], "little")
        if len(idx) != 20 + 40 * count + 64:
            self.problem(iwhere, f"length {len(idx)} does not fit {count} entries")
            return
        entries = []
        for i in range(count):
            at = 20 + 40 * i
            entries.append((idx[at:at + 32], int.from_bytes(idx[at + 32:at + 40], "little")))
        if any(not a[0] < b[0] for a, b in zip(entries, entries[1:])):
            self.problem(iwhere, "entries are not strictly ascending by id")
            return
        pack_hash = idx[20 + 40 * count:20 + 40 * count + 32]
        if pack_hash.hex() != h:
            self.problem(iwhere, f"names pack {pack_hash.hex()}, not the pack of its file name")
        # the .pack: header, entries, trailer
        pack = self.read("objects", "pack", f"pack-{h}.pack")
        if pack is None:
            return
        if len(pack) < 16 + 32 or pack[:16] != PACK_HEADER:
            self.problem(pwhere, "bad header or too short")
            return
        trailer = pack[-32:]
        if blake2b256(pack[:-32]) != trailer:
            # FORMAT.md does not say whether a pack with a bad trailer may still be read;
            # hg-bft keeps reading it (each object is checked against its id anyway).
            self.problem(pwhere, "trailer does not match the pack's content")
        elif trailer.hex() != h:
            self.problem(pwhere, "trailer hash differs from the file name")
        if trailer != pack_hash:
            self.problem(iwhere, "pack hash differs from the pack's trailer")
        body_end = len(pack) - 32
        starts = {}
        pos = 16
        try:
            while pos < body_end:
                start = pos
                n, pos = read_varint(pack, pos)
                if n > body_end - pos:
                    raise DecodeError(f"entry at offset {start} runs past the trailer")
                starts[start] = (pos, n)
                pos += n
        except DecodeError as e:
            self.problem(pwhere, f"entries do not parse: {e}")
            return
        self.packs += 1
        used = set()
        shared = False
        for oid, offset in entries:
            where = f"object {oid.hex()} ({pwhere} offset {offset})"
            if offset not in starts:
                self.problem(where, "the .idx offset is not the start of an entry")
                if oid not in self.objects:
                    self.damaged[oid] = "bad pack offset"
                continue
            shared = shared or offset in used
            used.add(offset)
            at, n = starts[offset]
            try:
                if n > MAX_LOOSE_FILE:
                    raise DecodeError(f"entry is {n} bytes, over the {MAX_LOOSE_FILE}-byte limit")
                enc = inflate_object(pack[at:at + n])
                if object_id(enc) != oid:
                    raise DecodeError(f"content hashes to {object_id(enc).hex()}, not its .idx id")
                obj = decode_object(enc)
            except DecodeError as e:
                self.problem(where, str(e))
                if oid not in self.objects:
                    self.damaged[oid] = str(e)
                continue
            self.packed_objects += 1
            self.objects[oid] = obj
        unindexed = sorted(set(starts) - used)
        if unindexed:
            self.problem(pwhere, f"{len(unindexed)} entries are not in the .idx (first at offset {unindexed[0]})")
        if shared:
            self.problem(iwhere, "two .idx entries share one pack entry")

    # -- 5.6 ----------------------------------------------------------------

    def load_index(self):
        """5.6. Records that are whole, pass their CRC, decode and are not repeats go to
        self.records (dicts with id, author, sequence, parents, ... and start/end offsets);
        those whose operation object loads also go to self.index_ops."""
        where = self.rel("index", "operations")
        self.index_ops = []         # Operation, in index order
        self.records = []           # decoded records, in index order
        self.index_length = 0
        self.index_bytes = b""      # the whole file, for the graph file's check (5.9.2)
        self.torn_start = None      # offset of a torn tail, if any
        data = self.read("index", "operations")
        if data is None:
            self.problem(where, "missing")
            return
        self.index_length = len(data)
        self.index_bytes = data
        if len(data) < len(INDEX_HEADER) and INDEX_HEADER.startswith(data):
            self.note(where, f"torn, empty index ({len(data)} bytes of the header)")
            self.torn_start = 0
            return
        if data[:16] != INDEX_HEADER:
            self.problem(where, "bad header")
            return
        pos = 16
        seen = {}
        recno = 0
        while pos < len(data):
            start = pos
            if pos + 4 > len(data):
                self.torn_start = start
                self.note(where, f"torn tail at offset {start} (partial length field) ignored")
                break
            length = int.from_bytes(data[pos:pos + 4], "little")
            if length > MAX_INDEX_PAYLOAD:
                # Checked before the torn-tail test: no writer ever wrote such a length,
                # so it is damage even when the record would also run past the end.
                self.problem(where, f"record at offset {start}: payload length {length} over "
                                    f"{MAX_INDEX_PAYLOAD}; the rest of the file ({len(data) - start} bytes) "
                                    f"cannot be read")
                break
            if pos + 4 + length + 4 > len(data):
                self.torn_start = start
                self.note(where, f"torn tail at offset {start} ({len(data) - start} bytes) ignored")
                break
            payload = data[pos + 4:pos + 4 + length]
            crc = int.from_bytes(data[pos + 4 + length:pos + 8 + length], "little")
            pos += 8 + length
            recno += 1
            rwhere = f"{where} record {recno} (offset {start})"
            if zlib.crc32(data[start:start + 4 + length]) & 0xFFFFFFFF != crc:
                self.problem(rwhere, "CRC-32 mismatch")
                continue
            try:
                rec = decode_index_payload(payload)
            except DecodeError as e:
                self.problem(rwhere, f"payload does not decode: {e}")
                continue
            oid = rec["id"]
            rec["recno"], rec["start"], rec["end"] = recno, start, pos
            if recno == 1:
                if getattr(self, "repo_id", None) is not None:
                    if oid != self.repo_id:
                        self.problem(rwhere, f"the first record ({oid.hex()}) is not the genesis "
                                             f"{self.repo_id.hex()}")
                elif rec["kind"] != KIND_GENESIS or rec["parents"]:
                    self.problem(rwhere, "the first record is not a genesis operation")
            if oid in seen:
                self.problem(rwhere, f"operation {oid.hex()} is listed twice (first in record {seen[oid]})")
                continue
            for p in rec["parents"]:
                if p not in seen:
                    self.problem(rwhere, f"operation {oid.hex()} names parent {p.hex()}, "
                                         f"which is not listed before it")
            seen[oid] = recno
            self.records.append(rec)
            obj = self.objects.get(oid)
            if obj is None:
                if oid in self.damaged:
                    self.problem(rwhere, f"operation {oid.hex()}: object is damaged")
                else:
                    self.problem(rwhere, f"operation {oid.hex()}: object is missing")
                continue
            if not isinstance(obj, Operation):
                self.problem(rwhere, f"{oid.hex()} names a blob, not an operation")
                continue
            if payload != index_payload(obj):
                self.problem(rwhere, f"payload differs from what operation {oid.hex()} gives")
            self.index_ops.append(obj)

    # -- 3 Validity ------------------------------------------------------------

    def validate(self):
        ops = {op.id: op for op in self.index_ops}
        self.valid = {}             # id -> Operation, valid ones
        self.topo = []              # valid ops in a topological order
        order_pos = {op.id: i for i, op in enumerate(self.index_ops)}
        # A topological order of all indexed operations (Kahn's algorithm, index order
        # where possible), ignoring parents that are not indexed operations. The heads and
        # state are computed over all of them, valid or not, as the caches are (3).
        self.all_topo = []
        pending = {op.id: sum(1 for p in set(op.parents) if p in ops) for op in self.index_ops}
        kids = {}
        for op in self.index_ops:
            for p in set(op.parents):
                if p in ops:
                    kids.setdefault(p, []).append(op.id)
        heap = [(order_pos[op.id], op.id) for op in self.index_ops if pending[op.id] == 0]
        heapq.heapify(heap)
        while heap:
            _, oid = heapq.heappop(heap)
            self.all_topo.append(ops[oid])
            for c in kids.get(oid, []):
                pending[c] -= 1
                if pending[c] == 0:
                    heapq.heappush(heap, (order_pos[c], c))
        processed = [op.id for op in self.all_topo]
        reason = {}
        for op in self.index_ops:
            missing = [p for p in op.parents if p not in ops]
            if missing:
                reason[op.id] = f"parent {missing[0].hex()} is not an operation of the repository"
        # ancestor-derived data
        self.anc_max = {}           # id -> {author: max sequence among strict ancestors}
        self.ancestry = Ancestry()  # over all indexed operations, in this topological order
        for op in self.all_topo:
            self.ancestry.add(op)
        self.authorisation = None   # rule 6, once the genesis is valid
        for oid in processed:
            op = ops[oid]
            where = f"operation {oid.hex()}"
            if oid in reason:
                self.problem(where, f"invalid: {reason[oid]}")
                continue
            bad_parent = next((p for p in op.parents if p not in self.valid), None)
            if bad_parent is not None:
                self.problem(where, f"invalid: parent {bad_parent.hex()} is not a valid operation")
                continue
            # rule 1: decoded, id checked at load; signature
            why = verify_signature(op.author, op.signed_message, op.signature)
            if why:
                self.problem(where, f"invalid: {why}")
                continue
            # rule 3
            if not op.parents:
                if self.repo_id is None or oid != self.repo_id:
                    self.problem(where, "invalid: an operation without parents that is not the repository's genesis")
                    continue
                if op.kind != KIND_GENESIS:
                    self.problem(where, "invalid: the genesis is not of kind genesis")
                    continue
            # rule 4
            past = {}
            for p in op.parents:
                for a, s in self.anc_max[p].items():
                    if s > past.get(a, 0):
                        past[a] = s
                pa = ops[p]
                if pa.sequence > past.get(pa.author, 0):
                    past[pa.author] = pa.sequence
            expected = past.get(op.author, 0) + 1
            if op.sequence != expected:
                self.problem(where, f"invalid: sequence {op.sequence}, expected {expected} from its causal past")
                continue
            # rule 5
            bad_blob = None
            for path, mode, blob in op.entries:
                if mode != MODE_DELETE:
                    b = self.objects.get(blob)
                    if not isinstance(b, Blob):
                        bad_blob = (path, blob, "damaged" if blob in self.damaged else
                                    ("not a blob" if b is not None else "missing"))
                        break
            if bad_blob:
                self.problem(where, f"invalid: blob {bad_blob[1].hex()} for {show_path(bad_blob[0])!r} is {bad_blob[2]}")
                continue
            # rule 6 (ACCESS-CONTROL.md 2): the author's role in its causal past's membership
            if not op.parents:
                self.authorisation = Authorisation(op, self.ancestry)
            elif self.authorisation is None:
                self.problem(where, "invalid: rule 6 cannot be decided without a valid genesis")
                continue
            else:
                why = self.authorisation.problem(op)
                if why:
                    self.problem(where, f"invalid: {why}")
                    continue
            self.authorisation.accept(op)
            self.anc_max[oid] = past
            self.valid[oid] = op
            self.topo.append(op)
        done = set(processed)
        for op in self.index_ops:
            if op.id not in done:
                self.problem(f"operation {op.id.hex()}", "invalid: its ancestry is cyclic")
        if self.repo_id is not None and not any(r["id"] == self.repo_id for r in self.records):
            self.problem(self.rel("genesis"), f"repository id {self.repo_id.hex()} is not in the index")
        # 3: equivocations, among valid operations only. Each pair is listed (three
        # operations with one sequence give three pairs). Not a problem: both are kept.
        by_key = {}
        for op in self.topo:
            by_key.setdefault((op.author, op.sequence), []).append(op.id)
        self.equivocations = []
        for (author, seq), ids in sorted(by_key.items()):
            for a, b in itertools.combinations(sorted(ids), 2):
                self.equivocations.append((author, seq, a, b))

    # -- heads (5.7) -------------------------------------------------------------

    def compute_heads(self):
        """Heads over all indexed records (an operation no record names as a parent)."""
        named = set()
        for rec in self.records:
            named.update(rec["parents"])
        self.heads = sorted(rec["id"] for rec in self.records if rec["id"] not in named)

    def parse_stamp_line(self, line: str, prefix: str):
        """'<prefix>N' with N canonical decimal (no sign, no leading zeros); None if not."""
        if not line.startswith(prefix):
            return None
        digits = line[len(prefix):]
        if not is_canonical_decimal(digits):
            return None
        return int(digits)

    def check_heads_file(self):
        where = self.rel("heads")
        self.heads_current = False
        data = self.read("heads")
        if data is None:
            self.problem(where, "missing (reindex rewrites it)")
            return
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            self.problem(where, "unparsable: not ASCII")
            return
        if not text.endswith("\n"):
            self.problem(where, "unparsable: does not end with a newline")
            return
        lines = text[:-1].split("\n")
        stamp = self.parse_stamp_line(lines[0], HEADS_PREFIX)
        if stamp is None:
            self.problem(where, "unparsable: bad first line (expected 'hg-bft heads v1 N', N canonical decimal)")
            return
        heads = []
        for i, line in enumerate(lines[1:], 2):
            if not is_lower_hex(line, 64):
                self.problem(where, f"unparsable: line {i} is not 64 lowercase hex digits")
                return
            heads.append(bytes.fromhex(line))
        if any(not a < b for a, b in zip(heads, heads[1:])):
            self.problem(where, "unparsable: heads are not strictly ascending")
            return
        # 5.7: a torn tail that starts before byte N was once a whole, committed record.
        if self.torn_start is not None and stamp > self.torn_start:
            self.problem(self.rel("index", "operations"),
                         f"the torn tail at offset {self.torn_start} starts before the heads stamp {stamp}: "
                         f"committed records were cut off (damage, not an interrupted append)")
        if stamp != self.index_length:
            self.note(where, f"stale: reflects index length {stamp}, index is {self.index_length} bytes "
                             f"(heads derived from the index)")
            return
        self.heads_current = True
        if heads != self.heads:
            self.problem(where, "lists " + (", ".join(short(h) for h in heads) or "no heads")
                         + "; the index gives " + (", ".join(short(h) for h in self.heads) or "no heads"))

    # -- 5.8 -------------------------------------------------------------------

    def check_peer_refs(self):
        refdir = self.path("refs", "peers")
        by_author = {}
        for rec in self.records:
            by_author.setdefault(rec["author"], []).append(rec)
        tips = {}   # author -> (sequence, [ids ascending])
        for author, recs in by_author.items():
            top = max(r["sequence"] for r in recs)
            tips[author] = (top, sorted(r["id"] for r in recs if r["sequence"] == top))
        found = set()
        names = sorted(os.listdir(refdir)) if os.path.isdir(refdir) else []
        for name in names:
            if is_temp_name(name):
                continue
            where = self.rel("refs", "peers", name)
            try:
                key = parse_peer_id(name)
            except DecodeError as e:
                self.problem(where, f"file name is not a peer id: {e}")
                continue
            found.add(key)
            data = self.read("refs", "peers", name)
            if data is None:
                continue
            parsed = self.parse_ref(where, data)
            if parsed is None:
                continue
            stamp, seq, ids = parsed
            if key not in tips:
                # 5.8: one file per author that has written an operation. The index only
                # grows, so even a behind ref must name an author of the index.
                self.problem(where, "no operation of the index is by this author")
                continue
            if stamp < self.index_length:
                # 5.8: may be behind (other authors appended since, or a crash between
                # the index append and the ref's rewrite); not a problem.
                self.note(where, f"behind: reflects index length {stamp}, index is {self.index_length} bytes")
                continue
            if stamp > self.index_length:
                # FORMAT.md does not cover a ref stamped past the end of the index.
                self.note(where, f"stamped {stamp}, past the index's length {self.index_length} (treated as stale)")
                continue
            if (seq, ids) != tips[key]:
                want_seq, want_ids = tips[key]
                self.problem(where, f"current, but lists sequence {seq}: "
                                    + ", ".join(short(i) for i in ids)
                                    + f"; the index gives sequence {want_seq}: "
                                    + ", ".join(short(i) for i in want_ids))
        for author in sorted(tips):
            if author not in found:
                where = self.rel("refs", "peers", peer_id_text(author))
                if self.heads_current:
                    # heads is written after the peer refs, so a current heads vouches for them
                    self.problem(where, "missing (the current heads file vouches for every peer ref)")
                else:
                    self.note(where, "missing (heads is not current; commands derive it from the index)")

    def parse_ref(self, where: str, data: bytes):
        """5.8: 'hg-bft ref v1 N', then >= 1 '<sequence> <64 hex id>' lines sharing one
        sequence, strictly ascending by id. Returns (N, sequence, ids) or None."""
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            self.problem(where, "unparsable: not ASCII")
            return None
        if not text.endswith("\n"):
            self.problem(where, "unparsable: does not end with a newline")
            return None
        lines = text[:-1].split("\n")
        stamp = self.parse_stamp_line(lines[0], REF_PREFIX)
        if stamp is None:
            self.problem(where, "unparsable: bad first line (expected 'hg-bft ref v1 N', N canonical decimal)")
            return None
        if len(lines) < 2:
            self.problem(where, "unparsable: no tip line")
            return None
        seqs, ids = set(), []
        for i, line in enumerate(lines[1:], 2):
            parts = line.split(" ")
            if len(parts) != 2 or not is_canonical_decimal(parts[0]) or parts[0] == "0" \
                    or not is_lower_hex(parts[1], 64):
                self.problem(where, f"unparsable: line {i} is not '<sequence> <64 hex id>'")
                return None
            seqs.add(int(parts[0]))
            ids.append(bytes.fromhex(parts[1]))
        if len(seqs) != 1:
            self.problem(where, "unparsable: the tip lines do not share one sequence number")
            return None
        if any(not a < b for a, b in zip(ids, ids[1:])):
            self.problem(where, "unparsable: the tip lines are not strictly ascending by id")
            return None
        return stamp, seqs.pop(), ids

    # -- ACCESS-CONTROL.md 4: the membership of the whole history ------------------

    def compute_membership(self):
        """The membership function over every valid membership operation, and which changes
        have effect (FORMAT.md 4)."""
        self.membership = self.authorisation.whole() if self.authorisation is not None else None
        self.no_effect_changes = []
        if self.membership is None:
            return
        for op in self.all_topo:
            if op.kind == KIND_CHANGE and not self.membership.has_effect(op, op.id in self.valid):
                self.no_effect_changes.append(op)

    # -- 4 State -----------------------------------------------------------------

    def compute_state(self):
        # Over all indexed operations, valid or not (3), in a topological order; only
        # changes with effect take part (FORMAT.md 4).
        bit, anc = self.ancestry.bit, self.ancestry.anc
        void = {op.id for op in self.no_effect_changes}
        writes = {}
        for i, op in enumerate(self.all_topo):
            if op.id in void:
                continue
            for path, mode, blob in op.entries:
                writes.setdefault(path, []).append((i, op.id, mode, blob))
        state = {}
        for path, ws in writes.items():
            live = []
            covered = 0  # union of the strict ancestors of the live writes found so far
            for i, oid, mode, blob in sorted(ws, key=lambda w: -w[0]):
                if covered & bit[oid]:
                    continue  # superseded: its operation is in the causal past of a later write
                live.append((oid, mode, blob))
                covered |= anc[oid]
            state[path] = sorted(live, key=lambda w: w[0])
        self.state = state
        self.state_encoding = encode_state(state)
        self.fingerprint = fingerprint(self.state_encoding)
        present = conflicts = 0
        for path, live in state.items():
            versions = {(m, b) for _, m, b in live}
            if len(versions) > 1:
                conflicts += 1
            elif live and live[0][1] != MODE_DELETE:
                present += 1
        self.present = present
        self.conflicts = conflicts

    def value_of(self, path: bytes):
        live = self.state.get(path, [])
        versions = {(m, b) for _, m, b in live}
        if len(versions) > 1:
            return "conflict"
        if not live or live[0][1] == MODE_DELETE:
            return None
        return live[0][1], live[0][2]

    # -- 5.9 ---------------------------------------------------------------------

    def _open_checksummed(self, name: str, header: bytes):
        """index/<name>, a derived file made of a header, a body and a BLAKE2b-256 of both
        (5.9, 5.9.1; checked whatever the stamp says): (data, a Reader after the header), or
        None when it is absent (derived and not fsynced, 5.12) or damaged (reported)."""
        where = self.rel("index", name)
        data = self.read("index", name)
        if data is None:
            return None
        if len(data) < len(header) + 32 or data[:len(header)] != header:
            self.problem(where, "unparsable: bad header or too short")
            return None
        if blake2b256(data[:-32]) != data[-32:]:
            self.problem(where, "checksum mismatch (damaged)")
            return None
        r = Reader(data[:-32])
        r.pos = len(header)
        return data, r

    def check_state_cache(self):
        where = self.rel("index", "state")
        opened = self._open_checksummed("state", STATE_HEADER)
        if opened is None:
            return
        data, r = opened
        try:
            stamp = r.varint("stamp")
            body_start = r.pos
            cached = decode_state(r)
            if not r.at_end():
                raise DecodeError("bytes between the state and the checksum")
        except DecodeError as e:
            self.problem(where, f"unparsable: {e}")
            return
        body = data[body_start:r.pos]
        if stamp != self.index_length:
            self.note(where, f"stale: reflects index length {stamp}, index is {self.index_length} bytes")
            return
        if body != self.state_encoding or cached != self.state:
            self.problem(where, f"current cache disagrees with the state computed from the operations "
                                f"(cache fingerprint {fingerprint(body).hex()})")

    # -- 5.9.1 ---------------------------------------------------------------------

    def check_members_cache(self):
        where = self.rel("index", "members")
        opened = self._open_checksummed("members", MEMBERS_HEADER)
        if opened is None:
            return
        data, r = opened
        cached = {}
        try:
            stamp = r.varint("stamp")
            count = r.varint("count")
            prev = None
            for _ in range(count):
                key = r.take(32, "member key")
                role = r.byte("role")
                if role not in (ROLE_ADMIN, ROLE_WRITER):
                    raise DecodeError(f"unknown role byte 0x{role:02x}")
                if prev is not None and not prev < key:
                    raise DecodeError("members not strictly ascending by key")
                prev = key
                cached[key] = role
            if not r.at_end():
                raise DecodeError("bytes between the members and the checksum")
        except DecodeError as e:
            self.problem(where, f"unparsable: {e}")
            return
        if stamp != self.index_length:
            self.note(where, f"stale: reflects index length {stamp}, index is {self.index_length} bytes")
            return
        if self.membership is None:
            return
        if cached != self.membership.members:
            def show(ms):
                return ", ".join(f"{peer_id_text(k)[:14]} {ROLE_NAMES[v]}" for k, v in sorted(ms.items())) or "none"
            self.problem(where, f"current cache lists {show(cached)}; the operations define "
                                f"{show(self.membership.members)} (invariant membership)")

    # -- 5.9.2 ---------------------------------------------------------------------

    def check_graph_file(self):
        where = self.rel("index", "graph")
        data = self.read("index", "graph")
        if data is None:
            return
        try:
            graph = decode_graph_file(data)
        except DecodeError as e:
            self.problem(where, f"unusable: {e}")
            return
        index = self.index_bytes
        stamp = graph["stamp"]
        if stamp > len(index):
            self.problem(where, f"covers {stamp} bytes of the operation index, which has {len(index)}")
            return
        if index[stamp - 4:stamp] != graph["last_crc"]:
            self.problem(where, "its last record checksum differs from the index bytes before its stamp")
            return
        if not any(rec["end"] == stamp for rec in self.records):
            self.problem(where, f"its stamp {stamp} is not the end of a readable index record")
            return
        covered = [rec for rec in self.records if rec["end"] <= stamp]
        if len(covered) != len(graph["ids"]):
            self.problem(where, f"holds {len(graph['ids'])} operations; the index has {len(covered)} "
                                f"readable records before byte {stamp}")
            return
        ids = graph["ids"]
        for n, rec in enumerate(covered):
            fields = (ids[n], graph["authors"][n], graph["sequences"][n], graph["timestamps"][n],
                      graph["kinds"][n], graph["entries"][n], graph["messages"][n],
                      [ids[p] for p in graph["parents"][n]])
            if fields != (rec["id"], rec["author"], rec["sequence"], rec["timestamp"], rec["kind"],
                          rec["entries"], rec["message"], rec["parents"]):
                self.problem(where, f"operation {n} differs from index record {rec['recno']} ({rec['id'].hex()})")
                return
        self.graph_file_operations = len(ids)

    # -- 5.10 ----------------------------------------------------------------------

    def check_worktree_cache(self):
        where = self.rel("index", "worktree")
        data = self.read("index", "worktree")
        if data is None:
            return
        if len(data) < 48 or data[:16] != WORKTREE_HEADER:
            self.problem(where, "bad header or too short")
            return
        if blake2b256(data[:-32]) != data[-32:]:
            self.problem(where, "checksum mismatch (damaged; treated as empty)")
            return
        r = Reader(data[:-32])
        r.pos = 16
        try:
            count = r.varint("count")
            prev = None
            for _ in range(count):
                path = r.prefixed("path")
                reason = path_error(path)
                if reason:
                    raise DecodeError(f"path {show_path(path)!r}: {reason}")
                if prev is not None and not prev < path:
                    raise DecodeError("entries not strictly ascending by path")
                prev = path
                r.varint("size")
                r.varint("mtime seconds")
                if r.varint("mtime nanoseconds") >= 10**9:
                    raise DecodeError("mtime nanoseconds not below 10^9")
                r.varint("inode")
                flags = r.byte("flags")
                if flags & ~0x03:
                    raise DecodeError(f"flags byte {flags:#04x} has bits other than executable (0) and racy (1)")
                r.take(32, "blob id")
            if not r.at_end():
                raise DecodeError("bytes left over before the checksum")
        except DecodeError as e:
            self.problem(where, f"damaged: {e}")
            return
        self.worktree_entries = count

    # -- 5.13 ----------------------------------------------------------------------

    def check_base(self):
        where = self.rel("base")
        data = self.read("base")
        if data is None:
            return
        if len(data) < 16 + 3 + 32 or data[:16] != BASE_HEADER:
            self.problem(where, "bad header or too short")
            return
        if blake2b256(data[:-32]) != data[-32:]:
            self.problem(where, "checksum mismatch")
            return
        r = Reader(data[:-32])
        r.pos = 16
        try:
            count = r.varint("head count")
            if count == 0:
                raise DecodeError("no head")
            heads = []
            for _ in range(count):
                h = r.take(32, "head")
                if heads and not heads[-1] < h:
                    raise DecodeError("heads not strictly ascending")
                heads.append(h)
            unsynced = []
            for _ in range(r.varint("unsynced count")):
                path = r.prefixed("unsynced path")
                reason = path_error(path)
                if reason:
                    raise DecodeError(f"path {show_path(path)!r}: {reason}")
                if unsynced and not unsynced[-1] < path:
                    raise DecodeError("unsynced paths not strictly ascending")
                unsynced.append(path)
            flag = r.byte("tree flag")
            tree = None
            if flag == 0:
                if unsynced:
                    raise DecodeError("unsynced paths without a tree")
                if not r.at_end():
                    raise DecodeError("bytes left over before the checksum")
            elif flag == 1:
                tree = decode_state(r)
                if not r.at_end():
                    raise DecodeError("bytes left over before the checksum")
            else:
                raise DecodeError(f"tree flag {flag:#04x} is neither 0 nor 1")
        except DecodeError as e:
            self.problem(where, f"damaged: {e}")
            return
        indexed = {rec["id"] for rec in self.records}
        for h in heads:
            if h not in indexed:
                self.problem(where, f"names {h.hex()}, which is not an operation in the index")
                return
        self.base_heads = len(heads)
        self.base_unsynced = len(unsynced)
        if heads != self.heads or tree is None:
            return  # the state of an older causal past is not recomputed here
        # At the repository's heads, the tree is the state except exactly at the unsynced paths.
        def value(state, path):
            live = state.get(path, [])
            versions = {(m, b) for _, m, b in live}
            if len(versions) > 1:
                return ("conflict", tuple(sorted(live)))
            if not live or live[0][1] == MODE_DELETE:
                return None
            return live[0][1], live[0][2]
        wanted = set(unsynced)
        for path in set(tree) | set(self.state):
            differs = value(tree, path) != value(self.state, path)
            if differs and path not in wanted:
                self.problem(where, f"its tree differs from the state at {show_path(path)!r}, which it does not list as unsynced")
            elif not differs and path in wanted:
                self.problem(where, f"lists {show_path(path)!r} as unsynced, but its tree agrees with the state there")

    # -- 5.11 ----------------------------------------------------------------------

    def check_lock(self):
        try:
            st = os.stat(self.path("lock"))
        except FileNotFoundError:
            return
        if st.st_size != 0:
            self.warn(self.rel("lock"), "not empty")

    # -- summary -------------------------------------------------------------------

    def summary(self):
        out = []
        out.append(f"repository: {os.path.abspath(self.root)}")
        if getattr(self, "repo_id", None) is not None:
            out.append(f"repository id: {self.repo_id.hex()}")
        if hasattr(self, "objects"):
            nblobs = sum(1 for o in self.objects.values() if isinstance(o, Blob))
            nops = sum(1 for o in self.objects.values() if isinstance(o, Operation))
            out.append(f"objects: {len(self.objects) + len(self.damaged)} "
                       f"({nops} operations, {nblobs} blobs, {len(self.damaged)} damaged; "
                       f"{getattr(self, 'packed_objects', 0)} read from {getattr(self, 'packs', 0)} pack(s))")
        if hasattr(self, "base_heads"):
            out.append(f"working tree base: {self.base_heads} head(s), {self.base_unsynced} unsynced path(s)")
        if hasattr(self, "graph_file_operations"):
            out.append(f"graph file: {self.graph_file_operations} operations, agreeing with the index")
        if hasattr(self, "valid"):
            authors = {op.author for op in self.valid.values()}
            out.append(f"indexed operations: {len(self.records)} ({len(self.valid)} valid), "
                       f"authors: {len(authors)}, index length: {self.index_length}")
            unindexed = sum(1 for o in self.objects.values()
                            if isinstance(o, Operation) and o.id not in {x.id for x in self.index_ops})
            if unindexed:
                out.append(f"operation objects not in the index (debris, ignored): {unindexed}")
            for author, seq, a, b in self.equivocations:
                out.append(f"equivocation: {peer_id_text(author)} sequence {seq}: {a.hex()} {b.hex()}")
        if hasattr(self, "heads"):
            for h in self.heads:
                out.append(f"head {h.hex()}")
        m = getattr(self, "membership", None)
        if m is not None:
            out.append(f"admin quorum: {m.quorum} (epoch {m.epoch})")
            for key in sorted(m.members):
                rank = m.senior_key(key)[0]
                rank_text = "unranked" if rank == UNRANKED[0] else str(rank)
                line = f"member {peer_id_text(key)} {ROLE_NAMES[m.members[key]]} rank {rank_text}"
                if rank != UNRANKED[0]:
                    line += f" added-in {m.senior_key(key)[1].hex()}"
                if key in m.contested:
                    line += " contested"
                out.append(line)
            for oid, reason in sorted(m.without_effect.items()):
                out.append(f"without effect {oid.hex()} {m.by_id[oid].describe()}: {reason}")
            for op in self.no_effect_changes:
                out.append(f"change without effect {op.id.hex()} by {peer_id_text(op.author)}")
        if hasattr(self, "fingerprint"):
            out.append(f"state: {len(self.state)} paths ever written, {self.present} present, "
                       f"{self.conflicts} in conflict")
            out.append(f"state fingerprint: {self.fingerprint.hex()}")
        return out


def main_repo(root: str) -> int:
    if not os.path.isdir(root):
        print(f"usage error: {root}: not a directory", file=sys.stderr)
        return 2
    checker = Checker(root)
    checker.run()
    for line in checker.summary():
        print(line)
    for n in checker.notes:
        print(f"note: {n}")
    for w in checker.warnings:
        print(f"warning: {w}")
    for p in checker.problems:
        print(f"problem: {p}")
    if checker.problems:
        print(f"{len(checker.problems)} problem(s) found")
        return 1
    print("clean: no problems found")
    return 0


# --------------------------------------------------------------------------
# --vectors mode
# --------------------------------------------------------------------------

def main_vectors(path: str) -> int:
    try:
        with open(path, "r", encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        print(f"usage error: {e}", file=sys.stderr)
        return 2
    v = {}
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            print(f"usage error: malformed vector line {line!r}", file=sys.stderr)
            return 2
        v[parts[0]] = parts[1]
    failures = []
    checks = 0

    def check(cond, what):
        nonlocal checks
        checks += 1
        print(("ok    " if cond else "FAIL  ") + what)
        if not cond:
            failures.append(what)

    def get(key):
        if key not in v:
            failures.append(f"missing vector {key}")
            print(f"FAIL  missing vector {key}")
            return None
        return v[key]

    seed_hex, pub_hex, peer = get("seed"), get("public-key"), get("peer-id")
    pub = None
    if seed_hex and pub_hex:
        priv = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
        pub = priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        check(pub.hex() == pub_hex, "public key derived from the seed")
        check(pubkey_problem(pub) is None, "public key is canonical and not of small order")
    if pub is not None and peer:
        check(peer_id_text(pub) == peer, "peer id text of the public key")
        try:
            check(parse_peer_id(peer) == pub, "peer id parses back to the public key")
        except DecodeError as e:
            check(False, f"peer id parses: {e}")
        # the reader must reject corrupted forms
        bad = peer[:-1] + ("a" if peer[-1] != "a" else "b")
        rejected = True
        try:
            parse_peer_id(bad)
            rejected = False
        except DecodeError:
            pass
        check(rejected, "a peer id with a changed last character is rejected")

    ops = {}
    for name in ("genesis", "change"):
        enc_hex = get(f"{name}-encoding")
        id_hex = get(f"{name}-id")
        if not enc_hex:
            continue
        enc = bytes.fromhex(enc_hex)
        try:
            op = decode_operation(enc)
        except DecodeError as e:
            check(False, f"{name} operation decodes: {e}")
            continue
        check(True, f"{name} operation decodes ({op.kind_name()}, sequence {op.sequence})")
        ops[name] = op
        if id_hex:
            check(op.id.hex() == id_hex, f"{name} id recomputed")
        if pub is not None:
            check(op.author == pub, f"{name} author is the vector public key")
        check(verify_signature(op.author, op.signed_message, op.signature) is None,
              f"{name} signature verifies")
        if seed_hex:
            priv = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
            check(priv.sign(op.signed_message) == op.signature,
                  f"{name} re-signed from the seed gives the same signature")
        tampered = bytearray(enc)
        tampered[-1] ^= 0x01
        check(verify_signature(op.author, OPERATION_DOMAIN + bytes(tampered[:-64]), bytes(tampered[-64:])) is not None,
              f"{name} signature with a flipped bit is rejected")
        msg_hex = v.get(f"{name}-signed-message")
        if msg_hex is not None:
            check(op.signed_message.hex() == msg_hex, f"{name} signed message (domain + encoding minus signature)")
        # re-encode from fields
        check(reencode_operation(op) == enc, f"{name} re-encodes to the same bytes")

    blob_hex = get("blob-encoding")
    blob_id_hex = get("blob-id")
    blob = None
    if blob_hex:
        try:
            blob = decode_blob(bytes.fromhex(blob_hex))
            check(True, "blob decodes")
        except DecodeError as e:
            check(False, f"blob decodes: {e}")
        if blob is not None and blob_id_hex:
            check(blob.id.hex() == blob_id_hex, "blob id recomputed")
            stored = inflate_object(zlib.compress(blob.encoding, 6))
            check(stored == blob.encoding, "blob survives zlib round trip")

    g, c = ops.get("genesis"), ops.get("change")
    if g is not None:
        check(g.kind == KIND_GENESIS and not g.parents and g.sequence == 1, "genesis header rules")
    if g is not None and c is not None:
        check(c.parents == [g.id], "change's parent is the genesis")
        check(c.author == g.author and c.sequence == g.sequence + 1, "change sequence follows the genesis")
    if c is not None and blob is not None:
        check(any(b == blob.id for _, m, b in c.entries if m != MODE_DELETE), "change writes the vector blob")

    # membership bodies: FORMAT.md 2.11's example and each rejection it lists
    def membership_body(body: bytes):
        op = Operation()
        op.kind, op.body = KIND_MEMBERSHIP, body
        _decode_membership_body(op)
        return op
    key42 = bytes([0x42]) * 32
    example = bytes.fromhex("0322" + "01" + "42" * 32 + "02")   # kind, body length, body
    try:
        m = membership_body(example[2:])
        check(example[1] == len(example) - 2 and m.action == ACTION_ADD and m.member == key42
              and m.role == ROLE_WRITER and encode_membership_body(m) == example[2:],
              "FORMAT.md 2.11 example: an add of 42..42 as writer, 34 body bytes, re-encodes")
    except DecodeError as e:
        check(False, f"FORMAT.md 2.11 example decodes: {e}")
    for body, what in ((b"", "an empty body"), (b"\x05" + key42, "action 0x05"),
                       (b"\x00" + key42, "action 0x00"), (b"\x01" + key42 + b"\x03", "role byte 0x03"),
                       (b"\x03" + key42 + b"\x00", "set-role with role byte 0x00"),
                       (b"\x01" + key42, "an add without its role byte"), (b"\x02" + key42[:31], "a truncated key"),
                       (b"\x02" + key42 + b"\x00", "a trailing byte"), (b"\x04\x00\x00", "quorum 0"),
                       (b"\x04\x00\x80\x02", "quorum 256"), (b"\x04\x80\x00\x01", "a non-minimal epoch"),
                       (b"\x04\x00", "a set-quorum without its quorum")):
        try:
            membership_body(body)
            check(False, f"a membership body with {what} is rejected")
        except DecodeError:
            check(True, f"a membership body with {what} is rejected")

    # varint examples from FORMAT.md 1.1
    for value, hexs in ((0, "00"), (127, "7f"), (128, "8001"), (300, "ac02"),
                        (1763683200000, "80d8d79daa33")):
        enc = bytes.fromhex(hexs)
        ok = encode_varint(value) == enc and read_varint(enc, 0) == (value, len(enc))
        check(ok, f"varint {value} <-> {hexs}")
    for hexs in ("8000", "ffffffffffffffffff02", "ffffffffffffffffff80", "80", "ffffffffffffffffff00"):
        try:
            read_varint(bytes.fromhex(hexs), 0)
            check(False, f"varint {hexs} is rejected")
        except DecodeError:
            check(True, f"varint {hexs} is rejected")
    check(read_varint(bytes.fromhex("ffffffffffffffffff01"), 0)[0] == 2**64 - 1, "varint 2^64-1 accepted")

    print(f"{checks} checks, {len(failures)} failed")
    return 1 if failures else 0


def reencode_operation(op: Operation) -> bytes:
    if op.kind == KIND_GENESIS:
        body = encode_varint(op.quorum) + op.nonce
    elif op.kind == KIND_MEMBERSHIP:
        body = encode_membership_body(op)
    elif op.kind == KIND_CHANGE:
        parts = [encode_varint(len(op.message)), op.message, encode_varint(len(op.entries))]
        for path, mode, blob in op.entries:
            parts += [encode_varint(len(path)), path, bytes([mode])]
            if mode != MODE_DELETE:
                parts.append(blob)
        body = b"".join(parts)
    else:
        body = op.body
    return b"".join([
        bytes([TYPE_OPERATION, FORMAT_VERSION]), op.author, encode_varint(op.sequence),
        encode_varint(len(op.parents)), b"".join(op.parents), encode_varint(op.timestamp),
        bytes([op.kind]), encode_varint(len(body)), body, op.signature,
    ])


def main(argv) -> int:
    if Ed25519PrivateKey is None:
        print("error: the 'cryptography' package is required (pip install cryptography)", file=sys.stderr)
        return 2
    if len(argv) == 2 and argv[1] not in ("-h", "--help", "--vectors"):
        return main_repo(argv[1])
    if len(argv) == 3 and argv[1] == "--vectors":
        return main_vectors(argv[2])
    print(__doc__.strip().split("\n\n")[2], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
