from django import forms

from portal.core.forms import NoSilentTruncation
from portal.notifications.models import Event, Webhook, validate_webhook_url


class WebhookForm(NoSilentTruncation, forms.Form):
    url = forms.CharField(
        max_length=500,
        validators=[validate_webhook_url],
        help_text="http(s) to a public address (port 80, 443 or 1024-65535), without user:password@; the portal POSTs JSON here and does not follow redirects.",
    )
    events = forms.MultipleChoiceField(choices=Event.choices, widget=forms.CheckboxSelectMultiple)

    def save(self, service, user) -> Webhook:
        # The model's rules again, for rows that arrive any other way; the URL was checked by the field
        # a moment ago, and checking it again would resolve its name a second time.
        return Webhook.objects.add(service, user, url=self.cleaned_data["url"], events=self.cleaned_data["events"], check_url=False)
