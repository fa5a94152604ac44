"""The page where people issue and revoke their own API tokens (for CI, or for scripts)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.access import permissions
from portal.access.login import password_confirmed
from portal.access.permissions import TokenScope
from portal.api.models import ApiToken
from portal.catalog.forms import WholeNumberField
from portal.catalog.models import Service
from portal.core.forms import LongSelect, NoSilentTruncation


def services_to_bind(user):
    """The services a token of `user` may be bound to: those of the teams they act for."""
    services = Service.objects.live().only("pk", "name").order_by("name")
    return services if permissions.is_admin(user) else services.filter(team_id__in=permissions.team_ids(user))


class TokenForm(NoSilentTruncation, forms.Form):
    label = forms.CharField(max_length=100, help_text="Who will use it, e.g. the sourcing-data-service pipeline.")
    scope = forms.ChoiceField(
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        widget=forms.RadioSelect,
        help_text="The narrowest that does the job: write only for what must change, decommission or approve.",
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(),
        required=False,
        empty_label="Every service I may act on",
        widget=LongSelect,
        help_text="Bound to one service, it reads the catalogue but acts on, and reads the runs of, that one only.",
    )
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Asked again: a token outlives this session.",
    )

    def __init__(self, request, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.fields["service"].queryset = services_to_bind(request.user)
        # Built here, not in the class: the limits are settings, read when the form is.
        self.fields["days"] = WholeNumberField(
            label="Days until it expires",
            min_value=1,
            max_value=settings.TOKEN_MAX_DAYS,
            initial=settings.TOKEN_DEFAULT_DAYS,
            help_text=f"1 to {settings.TOKEN_MAX_DAYS}.",
        )
        self.order_fields(["label", "scope", "service", "days", "password"])

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.request.user.has_usable_password():
            raise ValidationError("Your account has no password here (single sign-on): ask an operator for a token.")
        if not password_confirmed(self.request, password):
            raise ValidationError("That is not your password. Wrong passwords count towards locking your account.")
        return password

    def issue(self) -> str | None:
        """The new key; field errors (the same rules as `manage.py issue_token`) when refused."""
        data = self.cleaned_data
        try:
            _, key = ApiToken.objects.issue(self.request.user, data["label"], scope=data["scope"], days=data["days"], service=data["service"])
        except ValidationError as refused:
            for field, errors in refused.message_dict.items():
                self.add_error(field, errors)
            return None
        return key


@login_required
def token_list(request):
    form = TokenForm(request, request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        # The key is rendered in this response only: not in a message (stored in a cookie), not in a redirect.
        new_key = form.issue()
        if new_key:
            form = TokenForm(request)
    tokens = ApiToken.objects.filter(user=request.user).select_related("service")
    status = 400 if form.is_bound and form.errors else 200  # bad input is refused, as in the API
    return render(request, "api/tokens.html", {"form": form, "tokens": tokens, "new_key": new_key}, status=status)


@login_required
@require_POST
def token_revoke(request, token_id):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user, revoked_at=None)
    token.revoke(request.user)
    messages.success(request, f"Token …{token.hint} revoked: requests with it now get 401.")
    return redirect("tokens")
