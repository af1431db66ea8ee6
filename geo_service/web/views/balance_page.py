"""The planner's page of a balance proposal: ``/workload/balance/<result_id>/map`` (#22)."""

from __future__ import annotations

from geo_service.web.views.page_kit import bp

__all__ = ["bp"]
