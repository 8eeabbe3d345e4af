"""``loop collect``: a collector compatible with the Segment HTTP Tracking API, writing into the landing folder.

The official SDKs (Segment's, RudderStack's, analytics.js) send to it with only their host changed. Each request is
checked (write key, size, JSON), its events are prepared as Segment's API would store them (:mod:`.messages`),
appended to a rolling part file with one fsync shared by every request waiting on it (:mod:`.writer`), and the
request is answered 200 only then. Parts are renamed whole into ``landing/experience/events/date=YYYY-MM-DD/``
(:mod:`.parts`), where the next cycle lands them like any other NDJSON file. :mod:`.app` holds the HTTP routes and
the server (Starlette on uvicorn).
"""

from loop.collect.app import serve

__all__ = ["serve"]
