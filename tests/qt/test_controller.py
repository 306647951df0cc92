"""Controller pieces that need no window."""

from __future__ import annotations

import threading

from latentlab.core.analysis.planes import DatasetCache


def test_dataset_cache_loads_once_for_concurrent_requests(tmp_path):
    cache = DatasetCache()
    results = []
    barrier = threading.Barrier(3)

    def ask():
        barrier.wait()
        results.append(cache.get("shapes", None))

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 3
    assert results[0] is results[1] is results[2], "the dataset was loaded twice"
