"""kill -9 of a real server at random moments of concurrent saves, tag edits, bulk tag
edits and merges; after each restart the whole library is compared with what every
client was told (see reliability_harness). `scripts/stress crash` runs the long version."""

import reliability_harness as h


def test_kill_9_during_concurrent_work_loses_and_corrupts_nothing(tmp_path):
    result = h.run_crash(tmp_path, cycles=10, clients=4, seed=20261122, ballast=100,
                         min_run=0.15, max_run=0.9)
    print(h.format_table([result]))
    assert result.acked > 60, "too little was acknowledged for the test to mean anything"
    assert result.clean, result.summary()
