from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from portal.access import permissions
from portal.api.models import ApiToken


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>`, looked up by the key's digest."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the header as `Authorization: Token <key>`.")
        token = ApiToken.objects.for_key(header[1].decode("latin-1"))
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token is unknown or its user is inactive.")
        # The same question the views ask of every request (portal.api.scopes), answered here first.
        ended = permissions.token_ended(token)
        if ended is not None:
            raise exceptions.AuthenticationFailed(ended.message, code=ended.code)
        return token.user, token

    def authenticate_header(self, request):
        # Naming a scheme makes DRF answer 401 (not 403) to an anonymous request.
        return self.keyword


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`, issued on the API tokens page (or by `manage.py issue_token <username> "
            "--scope deploy`) with a scope (`read`, `deploy`, `write`), an end and optionally one service.",
        }
