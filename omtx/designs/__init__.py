"""Antibody and nanobody design campaigns (POST /v1/designs): the request, the target chain and
its hotspot checks (exposure), the job plan, the designs table and the campaign's report. Pure:
the use cases (omtx/usecases/designs.py, design_results.py) do the I/O."""
