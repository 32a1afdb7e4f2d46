#!/usr/bin/env python3
"""Applies the JSON Patch of every version of an ad's history, with an
implementation of RFC 6902 of its own (the `jsonpatch` package), and checks
that each turns the version before into the version itself.

Usage: jsonpatch_check.py http://127.0.0.1:PORT UID [UID ...]
Exit 0 when every patch holds; otherwise a line per failure and exit 1.
"""
import json
import sys
import urllib.parse
import urllib.request

import jsonpatch


def history(address, uid):
    url = f"{address}/v1/ads/{urllib.parse.quote(uid, safe=':')}/history"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def main():
    address, uids = sys.argv[1], sys.argv[2:]
    failures, applied = [], 0
    for uid in uids:
        versions = history(address, uid)
        if len(versions) < 2:
            failures.append(f"{uid}: {len(versions)} version(s), nothing to patch")
            continue
        if "patch" in versions[0]:
            failures.append(f"{uid}: the first version has a patch")
        for before, after in zip(versions, versions[1:]):
            patch = after.get("patch")
            if not isinstance(patch, list) or not patch:
                failures.append(f"{uid} v{after['seq']}: no patch")
                continue
            result = jsonpatch.apply_patch(before["record"], patch)
            if result != after["record"]:
                failures.append(f"{uid} v{after['seq']}: the patch gives another record")
            applied += 1
    for failure in failures:
        print(failure)
    print(json.dumps({"applied": applied}))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
