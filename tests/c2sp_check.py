"""Checks an adarchive server's transparency log with an implementation of
the C2SP formats of its own (hashlib and `cryptography`, nothing of the
Rust crates that wrote the log):

    python3 tests/c2sp_check.py http://127.0.0.1:PORT [--witness VKEY ...] [UID ...]

- the verifier key (`/v1/log/key`): its key id is the hash of its name
  and key, as signed-note defines it;
- the checkpoint (`/v1/log/checkpoint`): a signed note whose Ed25519
  signature verifies with that key, whose text is origin, size and root;
- every entry bundle and every hash tile the tree of that size has, full
  and partial, at their C2SP paths: the tiles hold exactly the subtree
  hashes computed here from the entries, and the entries hash (RFC 6962)
  to the checkpoint's root;
- every entry names the source the manifest (`/v1/sources`) has at that
  import sequence number, and the log has no other entry;
- consistency proofs (`/v1/log/proof/consistency`) from every smaller size
  to the checkpoint's, checked with RFC 9162's algorithm;
- for each UID given, the inclusion proofs of its provenance
  (`/v1/ads/UID/provenance`), checked the same way;
- for each witness key given (cosignature/v1), its cosignature on the
  checkpoint (C2SP `tlog-cosignature`).

Prints what it checked as JSON; exits 1 naming the first failure.
"""

import base64
import hashlib
import json
import sys
import urllib.error
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TILE_WIDTH = 256


class Failure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failure(message)


def get(base, path):
    with urllib.request.urlopen(base + path, timeout=60) as response:
        return response.read()


def status_of(base, path):
    try:
        with urllib.request.urlopen(base + path, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves):
    """RFC 6962 Merkle tree hash over leaf hashes."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def key_id(name, key_type, public):
    return hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public).digest()[:4]


def parse_verifier_key(line):
    name, kid, encoded = line.split("+", 2)
    raw = base64.b64decode(encoded)
    expect(raw[0] == 0x01 and len(raw) == 33, "the verifier key is not an Ed25519 key")
    expect(bytes.fromhex(kid) == key_id(name, raw[0], raw[1:]), "the verifier key's id does not match its key")
    return name, raw[1:]


def check_cosignature(note, vkey):
    """The time of the cosignature by vkey (type 0x04) on a signed note."""
    name, kid, encoded = vkey.split("+", 2)
    raw = base64.b64decode(encoded)
    expect(raw[0] == 0x04 and len(raw) == 33, "the witness key is not a cosignature/v1 key")
    public = raw[1:]
    expect(bytes.fromhex(kid) == key_id(name, 0x04, public), "the witness key's id does not match its key")
    text, _, signatures = note.decode().partition("\n\n")
    text = (text + "\n").encode()
    for line in signatures.rstrip("\n").split("\n"):
        signer, signature = line[2:].split(" ")
        sig = base64.b64decode(signature)
        if signer == name and sig[:4] == bytes.fromhex(kid):
            expect(len(sig) == 4 + 8 + 64, "a cosignature of the wrong length")
            time = int.from_bytes(sig[4:12], "big")
            message = b"cosignature/v1\ntime %d\n" % time + text
            try:
                Ed25519PublicKey.from_public_bytes(public).verify(sig[12:], message)
            except InvalidSignature:
                raise Failure(f"the cosignature of {name} does not verify")
            expect(time > 0, "a cosignature at time 0")
            return time
    raise Failure(f"the checkpoint carries no cosignature of {name}")


def open_note(note, name, public):
    """The text of a signed note, once its signature by (name, public) verifies."""
    text, _, signatures = note.decode().rpartition("\n\n")
    expect(text, "the checkpoint is not a signed note")
    text = (text + "\n").encode()
    kid = key_id(name, 0x01, public)
    for line in signatures.rstrip("\n").split("\n"):
        expect(line.startswith("\u2014 "), f"not a signature line: {line!r}")
        signer, encoded = line[2:].split(" ")
        raw = base64.b64decode(encoded)
        if signer == name and raw[:4] == kid:
            try:
                Ed25519PublicKey.from_public_bytes(public).verify(raw[4:], text)
            except InvalidSignature:
                raise Failure("the checkpoint's signature does not verify")
            return text
    raise Failure("the checkpoint has no signature by the log's key")


def tile_path(kind, index, width):
    groups = []
    while True:
        groups.append(index % 1000)
        index //= 1000
        if index == 0:
            break
    parts = ["x%03d" % g for g in reversed(groups[1:])] + ["%03d" % groups[0]]
    path = f"tile/{kind}/" + "/".join(parts)
    return path if width == TILE_WIDTH else path + f".p/{width}"


def split_bundle(bundle):
    entries, at = [], 0
    while at < len(bundle):
        expect(at + 2 <= len(bundle), "an entry bundle ends inside a length")
        length = int.from_bytes(bundle[at:at + 2], "big")
        entries.append(bundle[at + 2:at + 2 + length])
        at += 2 + length
    expect(at == len(bundle), "an entry bundle ends inside an entry")
    return entries


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m, n, old, new, proof):
    """RFC 9162 section 2.1.4.2."""
    if m == n:
        return not proof and old == new
    if m == 0 or m > n:
        return False
    if m & (m - 1) == 0:
        proof = [old] + proof
    if not proof:
        return False
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old and sr == new


def check(base, uids, witnesses=()):
    report = {}
    name, public = parse_verifier_key(get(base, "/v1/log/key").decode().strip())
    note = get(base, "/v1/log/checkpoint")
    text = open_note(note, name, public)
    report["cosigned_at"] = [check_cosignature(note, w) for w in witnesses]
    lines = text.decode().split("\n")
    expect(len(lines) == 4 and lines[3] == "", "the checkpoint's text is not origin, size and root")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    expect(origin == name, "the checkpoint's origin is not its key's name")
    expect(str(size) == lines[1] and size > 0, "the checkpoint's size is malformed")
    report.update(origin=origin, size=size)

    # Every entry, from the bundles at their C2SP paths.
    entries = []
    for index in range((size + TILE_WIDTH - 1) // TILE_WIDTH):
        width = min(TILE_WIDTH, size - index * TILE_WIDTH)
        bundle = split_bundle(get(base, "/v1/log/" + tile_path("entries", index, width)))
        expect(len(bundle) == width, f"entry bundle {index} holds {len(bundle)} entries, not {width}")
        entries.extend(bundle)
    expect(status_of(base, "/v1/log/" + tile_path("entries", size // TILE_WIDTH + 1, 1)) == 404,
           "the log serves entries past its size")
    leaves = [leaf_hash(e) for e in entries]
    expect(mth(leaves) == root, "the entries do not hash to the checkpoint's root")

    # Every hash tile, level by level, against subtree hashes computed here.
    tiles, level, span = 0, 0, 1
    while size >= span:
        count = size // span  # complete subtrees of this level
        for index in range((count + TILE_WIDTH - 1) // TILE_WIDTH):
            width = min(TILE_WIDTH, count - index * TILE_WIDTH)
            data = get(base, "/v1/log/" + tile_path(level, index, width))
            expect(len(data) == 32 * width, f"tile {level}/{index} has {len(data)} bytes")
            for k in range(width):
                first = (index * TILE_WIDTH + k) * span
                expect(data[32 * k:32 * k + 32] == mth(leaves[first:first + span]),
                       f"tile {tile_path(level, index, width)} hash {k} is wrong")
            tiles += 1
        level, span = level + 1, span * TILE_WIDTH
    report["tiles"] = tiles

    # The log holds the manifest's sources, in their order, and no other.
    sources = json.loads(get(base, "/v1/sources"))
    expect(len(sources) == size, f"the manifest has {len(sources)} sources, the log {size} entries")
    for source in sources:
        entry = entries[source["seq"]].decode()
        expect(f"\nblake3 {source['blake3']}\n" in entry,
               f"entry {source['seq']} is not source {source['blake3']}")
        expect(f"\nsize {source['size']}\n" in entry, f"entry {source['seq']} has another size")

    # Consistency of every smaller size with this one.
    for m in range(1, size + 1):
        answer = json.loads(get(base, f"/v1/log/proof/consistency?from={m}&to={size}"))
        proof = [base64.b64decode(h) for h in answer["proof"]]
        expect(verify_consistency(m, size, mth(leaves[:m]), root, proof),
               f"the consistency proof from {m} to {size} does not verify")
    report["consistency_proofs"] = size

    # Inclusion of each named ad's sources.
    proofs = 0
    for uid in uids:
        trail = json.loads(get(base, f"/v1/ads/{uid}/provenance"))
        log = trail["log"]
        note = open_note(log["checkpoint"].encode(), name, public).decode().split("\n")
        tree_size, tree_root = int(note[1]), base64.b64decode(note[2])
        expect(tree_size == log["tree_size"], "the provenance names another tree size than its checkpoint")
        expect({s["blake3"] for s in trail["sources"]} == {s["blake3"] for s in log["sources"]},
               f"{uid}: not every source has its proof")
        for source in log["sources"]:
            proof = [base64.b64decode(h) for h in source["inclusion_proof"]]
            leaf = leaf_hash(source["entry"].encode())
            expect(verify_inclusion(source["log_index"], tree_size, leaf, proof, tree_root),
                   f"{uid}: the inclusion proof of entry {source['log_index']} does not verify")
            proofs += 1
    report["inclusion_proofs"] = proofs
    return report


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    args, witnesses, uids = sys.argv[2:], [], []
    while args:
        if args[0] == "--witness" and len(args) > 1:
            witnesses.append(args[1])
            args = args[2:]
        else:
            uids.append(args.pop(0))
    try:
        print(json.dumps(check(sys.argv[1].rstrip("/"), uids, witnesses)))
    except Failure as failure:
        print(f"log check failed: {failure}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
