#!/usr/bin/env python3
"""Independent client for the hg-bft sync protocol, version 2, as a replica being cloned.

Written from docs/PROTOCOL.md (and docs/FORMAT.md for the objects) alone, without the Swift
sources, to prove that the documents are enough to speak the protocol. Object decoding, the
signature check, the state encoding and the membership function (rule 6 of FORMAT.md section 3,
docs/ACCESS-CONTROL.md) are reused from hgbft_check.py (written from those documents).

Usage:
    python3 hgbft_sync_client.py --exec "CMD" [--out DIR] [--timeout S]
        Run CMD with /bin/sh -c (e.g. "hg-bft serve /path/to/repo"), clone everything the peer
        has over the protocol, verify it, and print:
            operations N
            blobs M
            heads <hex>              (one line per head, ascending)
            member <peer-id> <role>  (one line per member, by key)
            state fingerprint: <hex>  (of the changes with effect)
            round trips N
            batches P plain, C compressed  (OBJECTS and COMPRESSED OBJECTS frames received)
        With --out DIR, every received object is also written to DIR/<hex id> (raw canonical
        encoding; not a repository).

    python3 hgbft_sync_client.py --vectors protocol-examples.txt [--format-vectors FILE]
        Decode every frame of the protocol vectors, re-encode it byte-identically and check its
        fields against FORMAT.md's worked examples (format-examples.txt, found beside the
        protocol file's ../../HGCoreTests/Vectors/ unless given).

Exit status: 0 success, 1 protocol or validation problem, 2 usage error.
"""

import os
import queue
import select
import subprocess
import sys
import threading
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hgbft_check as fmt  # noqa: E402  (FORMAT.md reader: decoding, ids, signatures, state)
from hgbft_check import DecodeError, Reader, encode_varint  # noqa: E402

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization
except ImportError:  # pragma: no cover
    Ed25519PrivateKey = None  # type: ignore


# --------------------------------------------------------------------------
# Constants (PROTOCOL.md 2, 3, 5)
# --------------------------------------------------------------------------

MAGIC = b"hg-bft sync"
VERSION = 2
MAX_OBJECT = 67_108_866                 # the largest object (a 64 MiB blob plus 2 header bytes)
MAX_FRAME = MAX_OBJECT + 65_536         # 67,174,402: our receive limit, announced in HELLO
MIN_ANNOUNCED_FRAME = 1_048_576
MAX_IDS = 65_536                        # heads, shared heads, NEED ids, OBJECTS count
MAX_FILTER = 8_388_608
MAX_PROBES = 32
MAX_ERROR_TEXT = 4_096
MAX_ROUNDS = 64
MAX_SESSION_BYTES = 2 * 1024 ** 3
MAX_SESSION_OBJECTS = 4_000_000
ZERO_ID = bytes(32)
TRACE = False

ZLIB_LEVEL = 1                          # hg-bft's level (2.7); any valid zlib stream is accepted

HELLO, HAVE, OBJECTS, END, NEED, ERROR, ZOBJECTS = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
TYPE_NAMES = {HELLO: "HELLO", HAVE: "HAVE", OBJECTS: "OBJECTS", END: "END", NEED: "NEED", ERROR: "ERROR",
              ZOBJECTS: "COMPRESSED OBJECTS"}


class ProtocolError(Exception):
    """The peer violated the protocol (we send ERROR and stop)."""


class PeerError(Exception):
    """The peer sent ERROR."""


# --------------------------------------------------------------------------
# Messages: decode strictly, encode canonically (PROTOCOL.md 2.1-2.6)
# --------------------------------------------------------------------------

def _ids(r: Reader, name: str):
    n = r.varint(name + " count")
    if n > MAX_IDS:
        raise DecodeError(f"{name}: {n} ids, more than {MAX_IDS}")
    ids = [r.take(32, name + " id") for _ in range(n)]
    if len(set(ids)) != len(ids):
        raise DecodeError(f"{name}: ids are not distinct")
    return ids


def _enc_ids(ids) -> bytes:
    return encode_varint(len(ids)) + b"".join(ids)


def _objects(r: Reader):
    n = r.varint("object count")
    if n > MAX_IDS:
        raise DecodeError(f"{n} objects, more than {MAX_IDS}")
    return [r.prefixed("object", MAX_OBJECT) for _ in range(n)]


def _enc_objects(objects) -> bytes:
    return encode_varint(len(objects)) + b"".join(encode_varint(len(o)) + o for o in objects)


def inflate_objects(r: Reader, max_frame: int) -> bytes:
    """COMPRESSED OBJECTS (2.7): the declared size, checked before inflating, then one zlib stream
    inflated to at most that many bytes, exactly."""
    size = r.varint("decompressed size")
    if not 1 <= size <= max_frame - 1:
        raise DecodeError(f"COMPRESSED OBJECTS declares {size} bytes, outside 1..{max_frame - 1}")
    data = r.take(r.remaining(), "zlib stream")
    d = zlib.decompressobj(wbits=15)  # the zlib wrapper (RFC 1950), 32 KiB window
    try:
        out = d.decompress(data, size)  # never more than `size` bytes
        if d.unconsumed_tail:
            # zlib stopped at `size` with input left: more output would follow (or the rest is junk)
            if d.decompress(d.unconsumed_tail, 1):
                raise DecodeError(f"COMPRESSED OBJECTS inflates to more than its declared {size} bytes")
    except zlib.error as e:
        raise DecodeError(f"COMPRESSED OBJECTS: not a valid zlib stream ({e})") from None
    if not d.eof:
        raise DecodeError("COMPRESSED OBJECTS: the zlib stream is truncated")
    if d.unused_data:
        raise DecodeError(f"COMPRESSED OBJECTS: {len(d.unused_data)} bytes after the zlib stream")
    if len(out) != size:
        raise DecodeError(f"COMPRESSED OBJECTS inflates to {len(out)} bytes, not the declared {size}")
    return out


def decode_message(mtype: int, payload: bytes, max_frame: int = MAX_FRAME) -> dict:
    """Decodes one frame's payload; every payload must decode exactly (2)."""
    r = Reader(payload)
    m = {"type": mtype}
    if mtype == HELLO:
        magic = r.take(len(MAGIC), "magic")
        if magic != MAGIC:
            raise DecodeError(f"bad magic {magic!r}")
        m["version"] = r.varint("version")
        m["repository"] = r.take(32, "repository")
        m["peer"] = r.take(32, "peer")
        m["max_frame"] = r.varint("max frame")
        if m["max_frame"] < MIN_ANNOUNCED_FRAME:
            raise DecodeError(f"max frame {m['max_frame']} below {MIN_ANNOUNCED_FRAME}")
    elif mtype == HAVE:
        m["heads"] = _ids(r, "heads")
        m["shared"] = _ids(r, "shared heads")
        m["salt"] = r.take(16, "salt")
        m["probes"] = r.varint("probes")
        if not 1 <= m["probes"] <= MAX_PROBES:
            raise DecodeError(f"probe count {m['probes']} outside 1..{MAX_PROBES}")
        m["entries"] = r.varint("entries")
        m["filter"] = r.prefixed("filter", MAX_FILTER)
        if not m["filter"] and m["entries"] != 0:
            raise DecodeError("a 0-byte filter with entries != 0")
    elif mtype == OBJECTS:
        m["objects"] = _objects(r)
    elif mtype == ZOBJECTS:
        inner = Reader(inflate_objects(r, max_frame))
        m["objects"] = _objects(inner)
        if not inner.at_end():
            raise DecodeError(f"{inner.remaining()} trailing bytes in the decompressed objects")
    elif mtype == END:
        pass
    elif mtype == NEED:
        m["ids"] = _ids(r, "need")
    elif mtype == ERROR:
        text = r.prefixed("error text", MAX_ERROR_TEXT)
        try:
            m["text"] = text.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("error text is not UTF-8") from None
    else:
        raise DecodeError(f"unknown message type 0x{mtype:02x}")
    if not r.at_end():
        raise DecodeError(f"{r.remaining()} trailing bytes in {TYPE_NAMES[mtype]}")
    return m


def encode_message(m: dict) -> bytes:
    t = m["type"]
    if t == HELLO:
        p = MAGIC + encode_varint(m["version"]) + m["repository"] + m["peer"] + encode_varint(m["max_frame"])
    elif t == HAVE:
        p = (_enc_ids(m["heads"]) + _enc_ids(m["shared"]) + m["salt"] + encode_varint(m["probes"])
             + encode_varint(m["entries"]) + encode_varint(len(m["filter"])) + m["filter"])
    elif t == OBJECTS:
        p = _enc_objects(m["objects"])
    elif t == ZOBJECTS:
        inner = _enc_objects(m["objects"])
        p = encode_varint(len(inner)) + zlib.compress(inner, ZLIB_LEVEL)
    elif t == END:
        p = b""
    elif t == NEED:
        p = _enc_ids(m["ids"])
    elif t == ERROR:
        text = m["text"].encode("utf-8")
        p = encode_varint(len(text)) + text
    else:
        raise ValueError(f"unknown type {t}")
    body = bytes([t]) + p
    return len(body).to_bytes(4, "little") + body


def decode_frame(frame: bytes) -> dict:
    """A whole frame (length, type, payload) as in the vector file."""
    if len(frame) < 5:
        raise DecodeError("frame shorter than 5 bytes")
    length = int.from_bytes(frame[:4], "little")
    if length == 0 or length > MAX_FRAME:
        raise DecodeError(f"frame length {length} outside 1..{MAX_FRAME}")
    if length != len(frame) - 4:
        raise DecodeError(f"frame length {length}, but {len(frame) - 4} bytes follow")
    return decode_message(frame[4], frame[5:])


# --------------------------------------------------------------------------
# Bloom filter (2.2)
# --------------------------------------------------------------------------

def probes(salt: bytes, k: int, oid: bytes, m_bits: int):
    h = fmt.blake2b256(salt + oid)
    x = int.from_bytes(h[0:4], "little") % m_bits
    y = int.from_bytes(h[4:8], "little") % m_bits
    z = int.from_bytes(h[8:12], "little") % m_bits
    out = [x]
    for _ in range(k - 1):
        x = (x + y) % m_bits
        y = (y + z) % m_bits
        out.append(x)
    return out


def filter_contains(filt: bytes, salt: bytes, k: int, oid: bytes) -> bool:
    if not filt:
        return False  # "A filter of 0 bytes contains nothing."
    return all(filt[p // 8] >> (p % 8) & 1 for p in probes(salt, k, oid, 8 * len(filt)))


def build_filter(ids, salt: bytes, k: int = 7) -> bytes:
    n = len(ids)
    length = (10 * n + 7) // 8
    if length == 0:
        return b""
    bits = bytearray(length)
    for oid in ids:
        for p in probes(salt, k, oid, 8 * length):
            bits[p // 8] |= 1 << (p % 8)
    return bytes(bits)


# --------------------------------------------------------------------------
# Transport (1): /bin/sh -c CMD, a writer thread, reads with a timeout
# --------------------------------------------------------------------------

class Pipe:
    def __init__(self, cmd: str, timeout: float):
        self.proc = subprocess.Popen(["/bin/sh", "-c", cmd], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=None, bufsize=0)
        self.timeout = timeout
        self.fd = self.proc.stdout.fileno()
        self.buf = bytearray()
        self.outq = queue.Queue()
        self.write_error = None
        self.writer = threading.Thread(target=self._write_loop, daemon=True)
        self.writer.start()
        self.peer_max_frame = MIN_ANNOUNCED_FRAME  # until the peer's HELLO says otherwise

    def _write_loop(self):
        while True:
            data = self.outq.get()
            if data is None:
                break
            try:
                self.proc.stdin.write(data)
            except OSError as e:  # BrokenPipe: the peer went away; reads will report it
                self.write_error = e
                break
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def send(self, m: dict):
        frame = encode_message(m)
        if TRACE:
            print(f"trace: -> {TYPE_NAMES[m['type']]} {frame[4:68].hex()}{'…' if len(frame) > 68 else ''}", file=sys.stderr)
        if len(frame) - 4 > self.peer_max_frame:
            raise ProtocolError(f"internal: a {TYPE_NAMES[m['type']]} frame of {len(frame) - 4} bytes "
                                f"exceeds the peer's limit {self.peer_max_frame}")
        self.outq.put(frame)

    def close(self):
        self.outq.put(None)
        self.writer.join(timeout=self.timeout)

    def _read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            ready, _, _ = select.select([self.fd], [], [], self.timeout)
            if not ready:
                raise ProtocolError(f"the peer sent nothing for {self.timeout:g} s")
            chunk = os.read(self.fd, max(65536, min(n - len(self.buf), 1 << 22)))
            if not chunk:
                raise ProtocolError("the peer closed the connection in the middle of the protocol")
            self.buf += chunk
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def recv(self) -> dict:
        length = int.from_bytes(self._read_exact(4), "little")
        if length == 0 or length > MAX_FRAME:
            raise ProtocolError(f"frame length {length} outside 1..{MAX_FRAME}")
        body = self._read_exact(length)
        try:
            m = decode_message(body[0], body[1:])
        except DecodeError as e:
            raise ProtocolError(f"malformed frame: {e}") from None
        if TRACE:
            print(f"trace: <- {TYPE_NAMES[m['type']]} ({length} bytes) {body[:64].hex()}{'…' if length > 64 else ''}", file=sys.stderr)
        if m["type"] == ERROR:
            raise PeerError(m["text"])
        return m

    def expect(self, *types) -> dict:
        m = self.recv()
        if m["type"] not in types:
            raise ProtocolError("expected " + " or ".join(TYPE_NAMES[t] for t in types)
                                + f", got {TYPE_NAMES[m['type']]}")
        return m

    def remaining_output(self) -> bytes:
        """After the protocol: anything more the peer wrote before closing (should be nothing)."""
        extra = bytes(self.buf)
        while True:
            ready, _, _ = select.select([self.fd], [], [], self.timeout)
            if not ready:
                raise ProtocolError(f"the peer did not close its output within {self.timeout:g} s")
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return extra
            extra += chunk


# --------------------------------------------------------------------------
# The exchange (3), as a replica being cloned
# --------------------------------------------------------------------------

class Session:
    def __init__(self, pipe: Pipe):
        self.pipe = pipe
        self.received = {}        # id -> decoded object (fmt.Blob or fmt.Operation)
        self.received_bytes = 0
        self.requested = set()
        self.peer_hello = None
        self.peer_have = None
        self.rounds = 0
        self.batches = {OBJECTS: 0, ZOBJECTS: 0}
        self.answered = 0
        self.unresolved = []

    def take_objects(self):
        """Reads OBJECTS and COMPRESSED OBJECTS frames until END; returns the ids that arrived."""
        got = []
        while True:
            m = self.pipe.expect(OBJECTS, ZOBJECTS, END)
            if m["type"] == END:
                return got
            self.batches[m["type"]] += 1
            for enc in m["objects"]:
                try:
                    obj = fmt.decode_object(enc)  # strict decoding on arrival (5)
                except DecodeError as e:
                    raise ProtocolError(f"an object does not decode: {e}") from None
                if obj.id in self.received:
                    # PROTOCOL.md does not say whether a repeat is a violation; it costs nothing here.
                    continue
                self.received[obj.id] = obj
                self.received_bytes += len(enc)
                got.append(obj.id)
                if len(self.received) > MAX_SESSION_OBJECTS or self.received_bytes > MAX_SESSION_BYTES:
                    raise ProtocolError("more than 4,000,000 objects or 2 GiB in one session")

    def missing(self):
        want = set(self.peer_have["heads"])
        for obj in self.received.values():
            if isinstance(obj, fmt.Operation):
                want.update(obj.parents)
                for _, mode, blob in obj.entries:
                    if blob is not None:
                        want.add(blob)
        return sorted(i for i in want if i not in self.received)

    def answer(self, need_ids):
        """We hold nothing (a clone): every requested id is unknown and skipped."""
        self.answered += 1
        if self.answered > MAX_ROUNDS:
            raise ProtocolError(f"the peer asked more than {MAX_ROUNDS} non-empty NEEDs")
        self.pipe.send({"type": END})

    def run(self, our_key: bytes):
        p = self.pipe
        # 1. Greeting
        p.send({"type": HELLO, "version": VERSION, "repository": ZERO_ID, "peer": our_key,
                "max_frame": MAX_FRAME})
        hello = p.expect(HELLO)
        if hello["version"] != VERSION:
            raise ProtocolError(f"peer speaks version {hello['version']}")
        if hello["repository"] == ZERO_ID:
            raise ProtocolError("both sides have an all-zero repository id (nothing to clone)")
        p.peer_max_frame = hello["max_frame"]
        self.peer_hello = hello
        # 2. Summary: no heads, no shared heads, an empty filter (a random salt, 7 probes)
        p.send({"type": HAVE, "heads": [], "shared": [], "salt": os.urandom(16), "probes": 7,
                "entries": 0, "filter": b""})
        self.peer_have = p.expect(HAVE)
        # 3. Bloom round: we have nothing to send.
        p.send({"type": END})
        self.take_objects()
        # 4. NEED rounds
        finishing = False
        while True:
            missing = [] if finishing else self.missing()[:MAX_IDS]
            p.send({"type": NEED, "ids": missing})
            if missing:
                self.rounds += 1
            peer_need = p.expect(NEED)
            if peer_need["ids"]:
                self.answer(peer_need["ids"])
            if missing:
                got = set(self.take_objects())
                if not got & set(missing) or self.rounds >= MAX_ROUNDS:
                    finishing = True
            if not missing and not peer_need["ids"]:
                break
            if finishing and not peer_need["ids"] and not missing:
                break
            if finishing and not missing:
                # one more empty NEED sent; keep answering the peer until its NEED is empty
                extra = 0
                while peer_need["ids"]:
                    extra += 1
                    if extra > MAX_ROUNDS:
                        raise ProtocolError("the peer kept asking after our final empty NEED")
                    p.send({"type": NEED, "ids": []})
                    peer_need = p.expect(NEED)
                    if peer_need["ids"]:
                        self.answer(peer_need["ids"])
                break
        self.unresolved = self.missing()


# --------------------------------------------------------------------------
# Validation of what was received (PROTOCOL.md 5, FORMAT.md 3) and the state (FORMAT.md 4)
# --------------------------------------------------------------------------

def validate(received: dict, repo_id: bytes, peer_heads):
    """Returns (ops in parents-first order, blobs, heads, problems, membership)."""
    problems = []
    ops = {i: o for i, o in received.items() if isinstance(o, fmt.Operation)}
    blobs = {i: o for i, o in received.items() if isinstance(o, fmt.Blob)}
    # signatures
    bad = set()
    for oid, op in ops.items():
        reason = fmt.verify_signature(op.author, op.signed_message, op.signature)
        if reason:
            problems.append(f"operation {oid.hex()}: {reason}")
            bad.add(oid)
    # roots: only the genesis, whose id is the repository id the peer announced
    roots = [o for o in ops.values() if not o.parents]
    for r in roots:
        if r.kind != fmt.KIND_GENESIS:
            problems.append(f"operation {r.id.hex()}: a root that is not a genesis")
            bad.add(r.id)
        elif r.id != repo_id:
            problems.append(f"operation {r.id.hex()}: a genesis other than the announced repository "
                            f"{repo_id.hex()}")
            bad.add(r.id)
    if not any(r.id == repo_id for r in roots):
        problems.append(f"the genesis {repo_id.hex()} was not received")
    # parents-first order (Kahn), parents must be received operations
    children = {i: [] for i in ops}
    pending = {}
    for oid, op in ops.items():
        n = 0
        for par in op.parents:
            if par in ops:
                children[par].append(oid)
                n += 1
            elif par in blobs:
                problems.append(f"operation {oid.hex()}: parent {par.hex()} is a blob")
                bad.add(oid)
            else:
                problems.append(f"operation {oid.hex()}: parent {par.hex()} missing")
                bad.add(oid)
        pending[oid] = n
    ready = sorted(i for i, n in pending.items() if n == 0)
    order = []
    while ready:
        oid = ready.pop()
        order.append(oid)
        for c in children[oid]:
            pending[c] -= 1
            if pending[c] == 0:
                ready.append(c)
    if len(order) != len(ops):
        problems.append(f"{len(ops) - len(order)} operations are in a parent cycle (impossible with hashes)")
    # rule 6 (FORMAT.md 3, ACCESS-CONTROL.md 2): authors hold the needed role in the membership
    # of each operation's causal past; the membership function is hgbft_check.py's
    ancestry = fmt.Ancestry()
    for oid in order:
        ancestry.add(ops[oid])
    genesis = ops.get(repo_id)
    auth = None
    if genesis is not None and genesis.kind == fmt.KIND_GENESIS and repo_id not in bad:
        auth = fmt.Authorisation(genesis, ancestry)
    # sequence rule, inherited invalidity, blobs present
    maxseq = {}  # id -> {author: highest sequence in its causal past including itself}
    for oid in order:
        op = ops[oid]
        past = {}
        for par in op.parents:
            if par in bad:
                if oid not in bad:
                    problems.append(f"operation {oid.hex()}: descends from an invalid operation")
                bad.add(oid)
            for a, s in maxseq.get(par, {}).items():
                if s > past.get(a, 0):
                    past[a] = s
        want = past.get(op.author, 0) + 1
        if op.sequence != want:
            problems.append(f"operation {oid.hex()}: sequence {op.sequence}, the sequence rule requires {want}")
            bad.add(oid)
        for path, mode, blob in op.entries:
            if blob is not None and blob not in blobs:
                what = "is not a blob" if blob in ops else "missing"
                problems.append(f"operation {oid.hex()}: blob {blob.hex()} of {fmt.show_path(path)} {what}")
                bad.add(oid)
        if oid not in bad and auth is not None:
            why = auth.problem(op)
            if why:
                problems.append(f"operation {oid.hex()}: {why}")
                bad.add(oid)
            else:
                auth.accept(op)
        past[op.author] = max(past.get(op.author, 0), op.sequence)
        maxseq[oid] = past
    named = set()
    for op in ops.values():
        named.update(b for _, _, b in op.entries if b is not None)
    for bid in blobs:
        if bid not in named:
            problems.append(f"blob {bid.hex()}: received but named by no operation")
    has_child = {par for op in ops.values() for par in op.parents}
    heads = sorted(i for i in ops if i not in has_child)
    if set(heads) != set(peer_heads):
        problems.append("the received operations' heads differ from the heads in the peer's HAVE")
    membership = auth.whole() if auth is not None else None
    return [ops[i] for i in order], blobs, heads, problems, membership


def compute_state(ordered_ops, membership=None):
    """FORMAT.md 4 over valid operations; only changes with effect take part."""
    bit, anc = {}, {}
    for i, op in enumerate(ordered_ops):
        bit[op.id] = 1 << i
        a = 0
        for par in op.parents:
            a |= anc[par] | bit[par]
        anc[op.id] = a
    writes = {}
    for i, op in enumerate(ordered_ops):
        if op.entries and membership is not None and not membership.has_effect(op):
            continue   # a change without effect neither writes nor supersedes
        for path, mode, blob in op.entries:
            writes.setdefault(path, []).append((i, op.id, mode, blob))
    state = {}
    for path, ws in writes.items():
        live, covered = [], 0
        for i, oid, mode, blob in sorted(ws, key=lambda w: -w[0]):
            if covered & bit[oid]:
                continue
            live.append((oid, mode, blob))
            covered |= anc[oid]
        state[path] = sorted(live, key=lambda w: w[0])
    return fmt.fingerprint(fmt.encode_state(state))


# --------------------------------------------------------------------------
# Modes
# --------------------------------------------------------------------------

def fail(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 1


def main_clone(cmd: str, out_dir, timeout: float) -> int:
    if Ed25519PrivateKey is None:
        return fail("the `cryptography` package is required (a fresh Ed25519 key)")
    key = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pipe = Pipe(cmd, timeout)
    session = Session(pipe)
    failure = None
    try:
        session.run(key)
        extra = pipe.remaining_output()
        if extra:
            failure = f"the peer wrote {len(extra)} bytes after the protocol ended"
    except PeerError as e:
        failure = f"the peer aborted: {e}"
    except ProtocolError as e:
        failure = f"protocol violation: {e}"
        try:
            pipe.send({"type": ERROR, "text": str(e)[:1000]})
        except ProtocolError:
            pass
    pipe.close()
    try:
        status = pipe.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pipe.proc.kill()
        status = pipe.proc.wait()
        failure = failure or "the peer did not exit after the protocol ended"
    if failure:
        return fail(failure)
    if status != 0:
        return fail(f"the peer command exited with status {status}")
    if session.unresolved:
        return fail(f"{len(session.unresolved)} requested objects never arrived, e.g. {session.unresolved[0].hex()}")
    ordered, blobs, heads, problems, membership = validate(
        session.received, session.peer_hello["repository"], session.peer_have["heads"])
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        for oid, obj in session.received.items():
            with open(os.path.join(out_dir, oid.hex()), "wb") as f:
                f.write(obj.encoding)
    if problems:
        for p in problems:
            print(f"problem: {p}", file=sys.stderr)
        return fail(f"{len(problems)} validation problems in what the peer sent")
    print(f"operations {len(ordered)}")
    print(f"blobs {len(blobs)}")
    for h in heads:
        print(f"heads {h.hex()}")
    if membership is not None:
        for key in sorted(membership.members):
            print(f"member {fmt.peer_id_text(key)} {fmt.ROLE_NAMES[membership.members[key]]}")
    print(f"state fingerprint: {compute_state(ordered, membership).hex()}")
    print(f"round trips {1 + session.rounds}")
    print(f"batches {session.batches[OBJECTS]} plain, {session.batches[ZOBJECTS]} compressed")
    return 0


def read_vectors(path: str) -> dict:
    v = {}
    with open(path, "r", encoding="utf-8") as f:
        for line in f.read().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            name, value = line.split()
            v[name] = value
    return v


def main_vectors(path: str, format_path) -> int:
    try:
        pv = read_vectors(path)
        if format_path is None:
            format_path = os.path.join(os.path.dirname(os.path.abspath(path)), "..", "..",
                                       "HGCoreTests", "Vectors", "format-examples.txt")
        fv = read_vectors(format_path)
    except (OSError, ValueError) as e:
        print(f"usage error: {e}", file=sys.stderr)
        return 2
    failures = []

    def check(cond, what):
        print(("ok    " if cond else "FAIL  ") + what)
        if not cond:
            failures.append(what)

    genesis = fmt.decode_operation(bytes.fromhex(fv["genesis-encoding"]))
    change = fmt.decode_operation(bytes.fromhex(fv["change-encoding"]))
    blob = fmt.decode_blob(bytes.fromhex(fv["blob-encoding"]))
    check(genesis.id.hex() == fv["genesis-id"] and change.id.hex() == fv["change-id"]
          and blob.id.hex() == fv["blob-id"], "FORMAT.md example ids recomputed")
    pub = bytes.fromhex(fv["public-key"])
    salt = bytes(range(16))
    expected_types = {"hello": HELLO, "have": HAVE, "have-empty": HAVE, "objects": OBJECTS,
                      "objects-compressed": ZOBJECTS, "end": END, "need": NEED, "need-empty": NEED, "error": ERROR}
    msgs = {}
    for name, hexv in pv.items():
        frame = bytes.fromhex(hexv)
        try:
            m = decode_frame(frame)
        except DecodeError as e:
            check(False, f"{name}: decodes ({e})")
            continue
        check(True, f"{name}: decodes as {TYPE_NAMES[m['type']]} ({len(frame) - 4} bytes after the length)")
        check(encode_message(m) == frame, f"{name}: re-encodes byte-identically")
        if name in expected_types:
            check(m["type"] == expected_types[name], f"{name}: message type")
        msgs[name] = m
    for name in expected_types:
        check(name in msgs, f"vector {name} present")
    if "hello" in msgs:
        m = msgs["hello"]
        check(m["version"] == 2, "hello: version 2")
        check(m["repository"] == genesis.id, "hello: repository is the genesis id of FORMAT.md 6.1")
        check(m["peer"] == pub, "hello: peer is the public key of FORMAT.md 6")
        check(m["max_frame"] == MAX_FRAME, "hello: max frame 67,174,402")
    if "have" in msgs:
        m = msgs["have"]
        check(m["heads"] == [change.id] and m["shared"] == [], "have: heads = [the change], no shared heads")
        check(m["salt"] == salt and m["probes"] == 7 and m["entries"] == 2, "have: salt 00..0f, 7 probes, 2 entries")
        check(len(m["filter"]) == (10 * 2 + 7) // 8, "have: filter sized ceil(10 n / 8) = 3 bytes")
        check(build_filter([genesis.id, change.id], salt, 7) == m["filter"],
              "have: filter rebuilt from the genesis and the change (probe positions of 2.2)")
        check(all(filter_contains(m["filter"], salt, 7, i) for i in (genesis.id, change.id)),
              "have: both operations test positive")
    if "have-empty" in msgs:
        m = msgs["have-empty"]
        check(m["heads"] == [genesis.id] and m["shared"] == [genesis.id], "have-empty: heads = shared = [genesis]")
        check(m["filter"] == b"" and m["entries"] == 0 and m["probes"] == 7 and m["salt"] == salt,
              "have-empty: empty filter, 0 entries, 7 probes, salt 00..0f")
        check(not filter_contains(m["filter"], salt, 7, change.id), "have-empty: the change tests negative")
    if "objects" in msgs:
        objs = msgs["objects"]["objects"]
        check(objs == [blob.encoding, change.encoding], "objects: the blob, then the change (FORMAT.md 6.2, 6.3)")
        ids = []
        for o in objs:
            try:
                ids.append(fmt.decode_object(o).id)
            except DecodeError as e:
                check(False, f"objects: an object decodes ({e})")
        check(ids == [blob.id, change.id], "objects: ids computed by the receiver")
        check(fmt.verify_signature(change.author, change.signed_message, change.signature) is None,
              "objects: the change's signature verifies")
    if "objects-compressed" in msgs:
        check(msgs["objects-compressed"]["objects"] == [blob.encoding, change.encoding],
              "objects-compressed: inflates to the same blob and change")
        plain, packed = bytes.fromhex(pv["objects"]), bytes.fromhex(pv["objects-compressed"])
        check(len(packed) > len(plain), "objects-compressed: larger than OBJECTS, so hg-bft sends OBJECTS here")
        check(packed[5:7] == encode_varint(len(plain) - 5) and packed[7] == 0x78,
              "objects-compressed: declares the OBJECTS payload's size; a zlib header follows")
    if "need" in msgs:
        check(msgs["need"]["ids"] == [change.id], "need: the change's id")
    if "need-empty" in msgs:
        check(msgs["need-empty"]["ids"] == [], "need-empty: no ids")
    if "error" in msgs:
        check(msgs["error"]["text"] == "repository is busy", "error: 'repository is busy'")
    # strictness: each of these must be rejected
    rejects = {
        "zero length": b"\x00\x00\x00\x00",
        "unknown type": b"\x01\x00\x00\x00\x07",
        "END with a payload": b"\x02\x00\x00\x00\x04\x00",
        "NEED with a non-minimal count": b"\x03\x00\x00\x00\x05\x80\x00",
        "NEED with a repeated id": b"\x42\x00\x00\x00\x05\x02" + change.id + change.id,
        "HAVE with 0 probes": bytes.fromhex(pv.get("have-empty", "00"))[:-3] + b"\x00\x00\x00",
        "HAVE with a 0-byte filter and entries 1": bytes.fromhex(pv.get("have-empty", "00"))[:-2] + b"\x01\x00",
    }
    inner = _enc_objects([blob.encoding])
    stream = zlib.compress(inner, ZLIB_LEVEL)
    raw = zlib.compressobj(1, zlib.DEFLATED, -15)
    raw_stream = raw.compress(inner) + raw.flush()

    def zframe(size, data):
        body = bytes([ZOBJECTS]) + encode_varint(size) + data
        return len(body).to_bytes(4, "little") + body
    check(decode_frame(zframe(len(inner), stream))["objects"] == [blob.encoding], "COMPRESSED OBJECTS of the blob decodes")
    bomb = zlib.compress(bytes(1 << 22), 9)
    rejects.update({
        "COMPRESSED OBJECTS declaring 0 bytes": zframe(0, stream),
        "COMPRESSED OBJECTS declaring more than the frame limit": zframe(MAX_FRAME, stream),
        "COMPRESSED OBJECTS inflating past its declared size": zframe(len(inner) - 1, stream),
        "COMPRESSED OBJECTS inflating to less than declared": zframe(len(inner) + 1, stream),
        "COMPRESSED OBJECTS as raw deflate": zframe(len(inner), raw_stream),
        "COMPRESSED OBJECTS with a bad Adler-32": zframe(len(inner), stream[:-1] + bytes([stream[-1] ^ 1])),
        "COMPRESSED OBJECTS truncated": zframe(len(inner), stream[:-3]),
        "COMPRESSED OBJECTS with bytes after the stream": zframe(len(inner), stream + b"\x00"),
        "COMPRESSED OBJECTS bomb (4 MiB of zeros declared as 1 KiB)": zframe(1024, bomb),
    })
    for what, frame in rejects.items():
        try:
            decode_frame(frame)
            check(False, f"rejects {what}")
        except DecodeError:
            check(True, f"rejects {what}")
    print(f"{len(failures)} failures")
    return 1 if failures else 0


def main(argv) -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exec", dest="cmd")
    ap.add_argument("--out")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--trace", action="store_true", help="log every frame to stderr")
    ap.add_argument("--vectors")
    ap.add_argument("--format-vectors")
    a = ap.parse_args(argv)
    global TRACE
    TRACE = a.trace
    if a.vectors:
        return main_vectors(a.vectors, a.format_vectors)
    if not a.cmd:
        ap.print_usage(sys.stderr)
        return 2
    return main_clone(a.cmd, a.out, a.timeout)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
