"""Views of a batch's results: pages, exports and facets of one query, answered from the batch's
columnar export once it is final (an in-memory table per revision, `cache`) and from Firestore
while it runs (`live`), with the same rows, order and cursors either way."""
