"""The page where people issue and revoke their own API tokens (for CI, or for scripts)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.api.models import ApiToken


class TokenForm(forms.Form):
    label = forms.CharField(max_length=100, help_text="Who will use it, e.g. the sourcing-data-service pipeline.")


@login_required
def token_list(request):
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        # The key is rendered in this response only: not in a message (stored in a cookie), not in a redirect.
        _, new_key = ApiToken.objects.issue(request.user, label=form.cleaned_data["label"])
        form = TokenForm()
    tokens = ApiToken.objects.filter(user=request.user)
    status = 400 if form.is_bound and form.errors else 200  # bad input is refused, as in the API
    return render(request, "api/tokens.html", {"form": form, "tokens": tokens, "new_key": new_key}, status=status)


@login_required
@require_POST
def token_revoke(request, token_id):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user, revoked_at=None)
    token.revoke(request.user)
    messages.success(request, f"Token …{token.hint} revoked: requests with it now get 401.")
    return redirect("tokens")
