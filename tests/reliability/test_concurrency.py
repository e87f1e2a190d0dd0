"""16 clients at once over HTTP: overlapping arXiv ids, the same paper saved from several
pages at the same moment, tag edits racing merges of the papers they edit. Then: no lost
update, one record per arXiv id, every tag once, one sighting per page and day, memory
equal to disk and to what a restart loads. `scripts/stress concurrency` runs 16 x 500."""

import reliability_harness as h


def test_sixteen_clients_at_once_lose_and_duplicate_nothing(tmp_path):
    result = h.run_concurrency(tmp_path, clients=16, ops=60, seed=7)
    print(h.format_table([result]))
    assert result.acked > 600
    assert result.clean, result.summary()
