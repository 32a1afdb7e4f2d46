"""Reads an Atom feed as feed readers do, and says what it holds.

    python3 tests/atom_check.py URL

The feed must be well-formed XML (Python's strict parser), Atom by
`feedparser`'s reading (no "bozo" error, version `atom10`), with a title,
an id and an updated time, and each entry a title, an id, an updated time
and a link. Prints {"title": ..., "entries": [{"link", "title", "updated"}]}
as JSON; exits 1 naming the first fault.
"""

import json
import sys
import urllib.request
import xml.etree.ElementTree as ET

import feedparser


def main():
    with urllib.request.urlopen(sys.argv[1], timeout=60) as response:
        content_type = response.headers.get("content-type", "")
        body = response.read()
    if not content_type.startswith("application/atom+xml"):
        sys.exit(f"served as {content_type}, not application/atom+xml")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        sys.exit(f"not well-formed XML: {e}")
    if root.tag != "{http://www.w3.org/2005/Atom}feed":
        sys.exit(f"the root element is {root.tag}, not an Atom feed")
    feed = feedparser.parse(body)
    if feed.bozo:
        sys.exit(f"feedparser: {feed.bozo_exception}")
    if feed.version != "atom10":
        sys.exit(f"feedparser reads it as {feed.version!r}, not Atom 1.0")
    for field in ["title", "id", "updated"]:
        if not feed.feed.get(field):
            sys.exit(f"the feed has no {field}")
    entries = []
    for entry in feed.entries:
        for field in ["title", "id", "updated", "link"]:
            if not entry.get(field):
                sys.exit(f"an entry has no {field}: {entry}")
        entries.append(
            {"id": entry.id, "link": entry.link, "title": entry.title, "updated": entry.updated}
        )
    print(json.dumps({"title": feed.feed.title, "entries": entries}))


if __name__ == "__main__":
    main()
