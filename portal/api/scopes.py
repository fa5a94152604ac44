"""What a token's limits let a request do (portal.access.permissions: token_allows), asked of every
API request that carries a token: each view says which action each of its methods is
(`token_actions`); a method a view has but does not name is refused to tokens, so a new endpoint
is closed to them until it says what it is."""

from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from portal.access import permissions
from portal.catalog.models import Service
from portal.runs.models import Run


def refuse(refusal) -> None:
    if refusal.code in permissions.TOKEN_ENDED:
        raise exceptions.AuthenticationFailed(refusal.message, code=refusal.code)
    raise permissions.Forbidden(refusal)


def service_acted_on(obj):
    """The service an object's endpoint acts on: the service itself, or a run's (None: the platform's)."""
    if isinstance(obj, Service):
        return obj
    if isinstance(obj, Run):
        return permissions.service_of(obj.workspace)
    raise TypeError(f"No token rule for {type(obj).__name__}")


class TokenLimits(BasePermission):
    """The token's end, scope and service (portal.access.permissions.token_allows), before the user's own."""

    def action(self, request, view) -> str | None:
        method = "GET" if request.method == "HEAD" else request.method
        return getattr(view, "token_actions", {}).get(method)

    def has_permission(self, request, view) -> bool:
        token = getattr(request, "auth", None)
        if token is None or request.method == "OPTIONS":
            return True  # a session (a person), or a question about the endpoint itself
        if request.method.lower() not in view.http_method_names or not hasattr(view, request.method.lower()):
            return True  # DRF answers 405
        action = self.action(request, view)
        if action is None:
            refuse(permissions.forbidden("token_scope", "This endpoint does not take API tokens for this method."))
        _, _, on_a_service = permissions.TOKEN_ACTIONS[action]
        # An action on one service is asked again with it, once the view has looked it up.
        refusal = permissions.token_scope_allows(token, action) if on_a_service else permissions.token_allows(token, action)
        if refusal is not None:
            refuse(refusal)
        return True

    def has_object_permission(self, request, view, obj) -> bool:
        token = getattr(request, "auth", None)
        if token is None or request.method == "OPTIONS":
            return True
        refusal = permissions.token_allows(token, self.action(request, view), service_acted_on(obj))
        if refusal is not None:
            refuse(refusal)
        return True
