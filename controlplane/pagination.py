"""Pagination for every list of the API."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """`limit` and `offset`, with `limit` capped: a page never holds more than `max_limit` rows, and a
    huge limit cannot overflow the database's integer range."""

    max_limit = 500
