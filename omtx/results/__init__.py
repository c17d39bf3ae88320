"""Views of a batch's results: pages, exports and facets of one query, answered from the batch's
columnar export once it is final (an in-memory table per revision, `cache`) and from Firestore
while it runs (`live`), with the same rows, order and cursors either way."""

import os

# polars allocates through its own jemalloc, which by default keeps freed pages for 10 s: a table
# the cache evicted stayed in the process's memory while the next one loaded, 100–150 MiB past
# the cache's bound with 100,000-row tables requested in turn (benchmarks/results_speed.py). Freed
# pages go back at once. jemalloc reads this when polars first allocates, so it is set before
# polars is imported (only omtx.results imports it); an operator's own setting wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "background_thread:true,dirty_decay_ms:0,muzzy_decay_ms:0")
