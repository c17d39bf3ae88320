"""A results view as the client asked for it: order, filters, search, projection and page, read
from the query string and checked against the batch's catalog. Every parameter is known or the
answer is a 400 that names it and the batch's metrics."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from omtx.domain import JobStatus
from omtx.errors import QueryError
from omtx.results import cursor
from omtx.results.catalog import ALWAYS, ORDERABLE, ROW_FIELDS, Catalog
from omtx.results.cursor import Keyset

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_SEARCH = 200
RANGE = re.compile(r"(min|max)_(.+)")
VIEW_PARAMS = ("order_by", "status", "q", "fields")
PAGE_PARAMS = ("limit", "cursor")
STATUSES = tuple(s.value for s in JobStatus)


@dataclass(frozen=True)
class ResultsQuery:
    order: str | None = None  # a column of the catalog; None: job index order
    descending: bool = False
    status: str | None = None
    ranges: tuple[tuple[str, str, float], ...] = ()  # (column, ">=" | "<=", value)
    flags: tuple[tuple[str, bool], ...] = ()  # (boolean metric, value)
    search: str | None = None
    fields: frozenset[str] | None = None  # row fields and metrics to return; None: all
    limit: int = DEFAULT_LIMIT
    after: Keyset | None = None

    def fingerprint(self) -> str:
        """What a cursor is bound to: the rows and their order (not the page size or projection)."""
        key = [self.order, self.descending, self.status, self.ranges, self.flags, self.search]
        return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]

    @property
    def filters(self) -> tuple[object, ...]:
        return (self.status, self.ranges, self.flags, self.search)

    @property
    def constant_order(self) -> bool:
        """Ordered by a boolean metric that a filter pins to one value: index order in effect."""
        return any(name == self.order for name, _ in self.flags)

    @property
    def nulls_possible(self) -> bool:
        """Whether rows without the sort value can match (a range or flag on it rules them out)."""
        return self.order is not None and not any(
            name == self.order for name in [c for c, _, _ in self.ranges] + [c for c, _ in self.flags]
        )

    def without_status(self) -> ResultsQuery:
        return replace(self, status=None)

    def wants(self, name: str) -> bool:
        return self.fields is None or name in self.fields


def _bad(name: str, message: str, msg: str, value: object) -> QueryError:
    return QueryError(message, [{"loc": ["query", name], "msg": msg, "input": value}])


def _number(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise _bad(name, f"bad {name}", "a finite number", raw)
    return value


def _column(param: str, name: str, catalog: Catalog, allowed: frozenset[str], what: str) -> str:
    kind = catalog.kind(name)
    if kind is None:
        raise _bad(
            param,
            f"unknown metric {name!r} in {param}",
            f"not a metric of this batch; its metrics: {catalog.described()}",
            name,
        )
    if kind not in allowed:
        raise _bad(param, f"{name} cannot be used in {param}", f"{name} is {kind}; {what}", name)
    return name


def parse(args: Mapping[str, list[str]], catalog: Catalog, *, batch_id: str, paged: bool = True) -> ResultsQuery:
    """The view `args` (a query string, every value of each name) asks for. `paged`: the JSON
    pages take limit and cursor; an export or facets has every row of the view."""
    known = VIEW_PARAMS + (PAGE_PARAMS if paged else ())
    one: dict[str, str] = {}
    ranges: list[tuple[str, str, float]] = []
    flags: list[tuple[str, bool]] = []
    for name, values in args.items():
        if len(values) != 1:
            raise _bad(name, f"{name} is given {len(values)} times", "give each parameter once", values)
        raw = values[0]
        if name in known:
            one[name] = raw
        elif match := RANGE.fullmatch(name):
            column = _column(name, match.group(2), catalog, frozenset({"number"}), "only numbers have a range")
            ranges.append((column, ">=" if match.group(1) == "min" else "<=", _number(name, raw)))
        elif catalog.is_metric(name) and catalog.metrics[name] == "boolean":
            if raw.lower() not in {"true", "false"}:
                raise _bad(name, f"bad {name}", "true or false", raw)
            flags.append((name, raw.lower() == "true"))
        elif (kind := catalog.kind(name)) is not None:
            msg = f"{name} is {kind}: only boolean metrics take {name}=true|false; numbers take min_/max_"
            raise _bad(name, f"{name} cannot be filtered by value", msg, raw)
        else:
            params = ", ".join((*known, "min_<metric>", "max_<metric>", "<boolean metric>=true|false"))
            raise _bad(
                name,
                f"unknown query parameter {name!r}",
                f"parameters: {params}; this batch's metrics: {catalog.described()}",
                raw,
            )
    query = ResultsQuery(ranges=tuple(sorted(ranges)), flags=tuple(sorted(flags)))
    if (order := one.get("order_by")) is not None:
        name = order.removeprefix("-")
        what = "order by a number, a boolean or a text"
        column = _column("order_by", name, catalog, ORDERABLE, what)
        query = replace(query, order=column, descending=order.startswith("-"))
    if (status := one.get("status")) is not None:
        if status not in STATUSES:
            raise _bad("status", "bad status", f"one of {', '.join(STATUSES)}", status)
        query = replace(query, status=status)
    if (search := one.get("q")) is not None:  # text search
        if not search.strip() or len(search) > MAX_SEARCH:
            raise _bad("q", "bad q", f"1–{MAX_SEARCH} characters", search)
        query = replace(query, search=search.strip())
    if (fields := one.get("fields")) is not None:
        query = replace(query, fields=_projection(fields, catalog))
    if paged:
        query = replace(query, limit=_limit(one.get("limit")))
        if (token := one.get("cursor")) is not None:
            query = replace(query, after=cursor.decode(token, batch_id, query.fingerprint()))
    return query


def _projection(raw: str, catalog: Catalog) -> frozenset[str]:
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in ROW_FIELDS and not catalog.is_metric(n)]
    if not names or unknown:
        raise _bad(
            "fields",
            f"unknown field {unknown[0]!r} in fields" if unknown else "bad fields",
            f"row fields: {', '.join(ROW_FIELDS)}; this batch's metrics: {catalog.described()}",
            raw,
        )
    return frozenset(names) | frozenset(ALWAYS)


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdecimal() or not 1 <= int(raw) <= MAX_LIMIT:
        raise _bad("limit", "bad limit", f"an integer 1–{MAX_LIMIT}", raw)
    return int(raw)


def referenced(args: Mapping[str, list[str]]) -> set[str]:
    """The column names a query string mentions (to know whether a catalog has them all)."""
    names: set[str] = set()
    for name, values in args.items():
        if name == "order_by":
            names.update(v.removeprefix("-") for v in values)
        elif name == "fields":
            names.update(n.strip() for v in values for n in v.split(","))
        elif match := RANGE.fullmatch(name):
            names.add(match.group(2))
        elif name not in VIEW_PARAMS + PAGE_PARAMS:
            names.add(name)
    return {n for n in names if n and n not in ROW_FIELDS}
