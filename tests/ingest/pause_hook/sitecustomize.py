"""Test hook for a `studybot ingest` subprocess: after its first group of deletions it says so on
stderr and blocks on stdin, so the test can kill -9 it at that exact point (put this folder first
on PYTHONPATH and set STUDYBOT_TEST_PAUSE_AFTER_DELETES=1)."""

import os
import sys

if os.environ.get("STUDYBOT_TEST_PAUSE_AFTER_DELETES"):
    from bot.study import vectorstore

    _delete = vectorstore.VectorStore.delete

    def _delete_then_pause(self, ids):  # type: ignore[no-untyped-def]
        _delete(self, ids)
        print("paused after the first group of deletions", file=sys.stderr, flush=True)
        sys.stdin.read()  # until killed

    vectorstore.VectorStore.delete = _delete_then_pause  # type: ignore[method-assign]
