"""PlexRecs benchmarks: ``make bench`` (``python -m benchmarks.run``). Timings live here, never in tests."""
