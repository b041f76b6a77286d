"""Segment Public API: the workspace's configuration beyond destinations (docs/api/segment.md §11).

The workspace, sources, warehouses and their connected sources, Protocols (tracking plans,
their rules, transformations), functions of every resource type, reverse-ETL models, Engage
spaces, labels, IAM (users, groups, their members, roles) and the three catalogs. Lists page
like destinations (``pagination.count`` 1-1000, base64 cursors); labels are one unpaged list.

Gated features answer 403 with a message naming the feature (the real status and body are
UNVERIFIED, §11.3); the ``protocols_enabled``, ``functions_enabled``, ``reverse_etl_enabled``,
``spaces_enabled`` and ``iam_enabled`` options switch them. Routes with a lower limit of their
own (§11.4) spend a budget of their own too, besides the workspace's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from api_emulator.core import RateBudget, Request, Response, VendorError
from api_emulator.data.segment_workspace import FUNCTION_TYPES, WorkspaceDataset

if TYPE_CHECKING:
    from api_emulator.segment import SegmentApp

#: Option -> the feature's name in the refusal.
FEATURES = {
    "protocols_enabled": "Protocols",
    "functions_enabled": "Functions",
    "reverse_etl_enabled": "Reverse ETL",
    "spaces_enabled": "Engage Spaces",
    "iam_enabled": "Access Management",
}
#: Route template -> requests per minute (SDK-PY docs/TrackingPlansApi.md, §11.4).
ROUTE_LIMITS = {"/tracking-plans/{trackingPlanId}/rules": 200}


#: The feature switches SegmentApp.options takes.
OPTIONS = dict.fromkeys(FEATURES, bool)


def register(app: SegmentApp) -> WorkspaceDataset:
    """Serve the workspace routes on ``app``; the workspace, seeded like its destinations."""
    routes = WorkspaceRoutes(app)
    routes.register()
    return routes.data


class WorkspaceRoutes:
    """The handlers; ``app.workspace`` is their data."""

    def __init__(self, app: SegmentApp) -> None:
        self.app = app
        self.data = WorkspaceDataset.generate(
            app.dataset.seed, app.dataset.sources, app.dataset.catalog
        )
        for option in FEATURES:
            setattr(app, option, True)
        #: Route template -> its own budget (``PUT /_emulator/budget`` sets the workspace's).
        self.route_budgets = {template: RateBudget(n) for template, n in ROUTE_LIMITS.items()}

    def register(self) -> None:
        d = self.data
        lists: list[tuple[str, str, Callable[[Request], list[dict]], str | None]] = [
            ("/sources", "sources", lambda r: d.sources, None),
            ("/warehouses", "warehouses", lambda r: d.warehouses, None),
            (
                "/warehouses/{warehouseId}/connected-sources",
                "sources",
                self._connected_sources,
                None,
            ),
            ("/tracking-plans", "trackingPlans", lambda r: d.tracking_plans, "protocols_enabled"),
            (
                "/tracking-plans/{trackingPlanId}/rules",
                "rules",
                self._rules,
                "protocols_enabled",
            ),
            (
                "/transformations",
                "transformations",
                lambda r: d.transformations,
                "protocols_enabled",
            ),
            ("/functions", "functions", self._functions, "functions_enabled"),
            (
                "/reverse-etl-models",
                "models",
                lambda r: d.reverse_etl_models,
                "reverse_etl_enabled",
            ),
            ("/spaces", "spaces", lambda r: d.spaces, "spaces_enabled"),
            ("/users", "users", lambda r: d.users, "iam_enabled"),
            ("/groups", "userGroups", lambda r: d.groups, "iam_enabled"),
            ("/groups/{userGroupId}/users", "users", self._members, "iam_enabled"),
            ("/roles", "roles", lambda r: d.roles, "iam_enabled"),
            ("/catalog/sources", "sourcesCatalog", lambda r: d.catalog_sources, None),
            (
                "/catalog/destinations",
                "destinationsCatalog",
                lambda r: d.catalog_destinations,
                None,
            ),
            ("/catalog/warehouses", "warehousesCatalog", lambda r: d.catalog_warehouses, None),
        ]
        for template, key, items, gate in lists:
            self._add(template, self._lister(template, key, items, gate))
        self._add("/", lambda r: {"workspace": d.workspace})
        self._add("/labels", lambda r: {"labels": d.labels})
        self.app.add_admin_route("DELETE", "workspace/{collection}/{id}", self._remove)
        self.app.add_admin_route("PUT", "route-budgets", self._set_route_budget)

    def _add(self, template: str, handler: Callable[[Request], dict[str, Any]]) -> None:
        budget = self.route_budgets.get(template)

        def answer(request: Request) -> Response:
            self.app._authenticate(request)
            if budget is not None:
                spent = budget.consume()
                if spent.limited:  # the route's own limit, on top of the workspace's
                    return self.app.rate_limited(spent, None)
            return Response(200, {"data": handler(request)})

        self.app.add_route("GET", template, answer)

    def _lister(
        self,
        template: str,
        key: str,
        items: Callable[[Request], list[dict]],
        gate: str | None,
    ) -> Callable[[Request], dict[str, Any]]:
        def handler(request: Request) -> dict[str, Any]:
            if gate is not None and not getattr(self.app, gate):
                raise _feature_off(FEATURES[gate])
            page, pagination = self.app._page(request, items(request))
            return {key: page, "pagination": pagination}

        return handler

    def _remove(self, request: Request) -> Response:
        """``DELETE /_emulator/segment/workspace/{collection}/{id}``, e.g. ``sources/<id>``."""
        collection = request.params["collection"]
        if not isinstance(getattr(self.data, collection, None), list) or collection == "labels":
            raise _not_found(f"No such collection: {collection}")
        if self.data.remove(collection, request.params["id"]) is None:
            raise _not_found("Not found")
        return Response(204)

    def _set_route_budget(self, request: Request) -> Response:
        """``PUT /_emulator/segment/route-budgets`` ``{"route", "limit", "window_seconds"}``."""
        body = request.json() or {}
        budget = self.route_budgets.get(str(body.get("route")))
        if budget is None:
            raise _not_found(f"routes with a budget of their own: {', '.join(ROUTE_LIMITS)}")
        budget.configure(body.get("limit"), float(body.get("window_seconds", 60)))
        return Response(204)

    # -- lists that depend on the request ---------------------------------------------------

    def _connected_sources(self, request: Request) -> list[dict]:
        warehouse_id = request.params["warehouseId"]
        if not any(w["id"] == warehouse_id for w in self.data.warehouses):
            raise _not_found("Warehouse not found")
        return self.data.connected_sources(warehouse_id)

    def _rules(self, request: Request) -> list[dict]:
        plan_id = request.params["trackingPlanId"]
        if plan_id not in self.data.rules or not any(
            p["id"] == plan_id for p in self.data.tracking_plans
        ):
            raise _not_found("Tracking Plan not found")
        return self.data.rules[plan_id]

    def _functions(self, request: Request) -> list[dict]:
        kind = request.arg("resourceType")
        if kind not in FUNCTION_TYPES:
            # Required by the SDKs (SDK-TS functionsApi.ts: listFunctions); message UNVERIFIED.
            raise _invalid(
                "resourceType", f'"resourceType" must be one of [{", ".join(FUNCTION_TYPES)}]'
            )
        return [f for f in self.data.functions if f["resourceType"] == kind]

    def _members(self, request: Request) -> list[dict]:
        group_id = request.params["userGroupId"]
        if group_id not in self.data.members:
            raise _not_found("User group not found")
        return self.data.group_members(group_id)


def _feature_off(feature: str) -> VendorError:
    message = f"The {feature} feature is not enabled for this workspace"
    return VendorError(403, {"errors": [{"type": "forbidden", "message": message, "status": 403}]})


def _invalid(name: str, message: str) -> VendorError:
    return VendorError(
        422, {"errors": [{"type": "input-validation", "message": message, "field": name}]}
    )


def _not_found(message: str) -> VendorError:
    return VendorError(
        404, {"errors": [{"type": "resource-not-found", "message": message, "status": 404}]}
    )
