from django import forms
from django.contrib.auth import get_user_model

from portal.access.models import TEAM_NAME_MAX_LENGTH, Team, team_name_validators
from portal.core.forms import NoSilentTruncation


class TeamForm(NoSilentTruncation, forms.Form):
    name = forms.CharField(
        max_length=TEAM_NAME_MAX_LENGTH,
        validators=team_name_validators,
        help_text=Team._meta.get_field("name").help_text,
    )
    description = forms.CharField(max_length=200, required=False)

    def clean_name(self):
        name = self.cleaned_data["name"]
        if Team.objects.filter(name=name).exists():
            raise forms.ValidationError("A team with this name exists.")
        return name


class MemberForm(NoSilentTruncation, forms.Form):
    username = forms.CharField(max_length=150, help_text="The username of a person with an account here.")

    def clean_username(self):
        username = self.cleaned_data["username"]
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError("Nobody has this username.")
        return user
