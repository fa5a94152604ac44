"""What every page form shares."""

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe


class NoSilentTruncation:
    """A form whose text fields say a value is too long rather than let the browser cut it: a field's
    max_length is still checked on the server, with a message naming the limit, but is not rendered as
    the input's `maxlength`, which makes a browser drop what is typed or pasted past it without a word."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.pop("maxlength", None)


class LongSelect(forms.Select):
    """A select of many options (a token's service, out of hundreds), rendered in one pass: Django
    renders each option from a template of its own, which for a thousand services was most of the
    tokens page's time. The same markup: the field's attributes, the selected option marked."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((str(key), mark_safe(" selected") if str(key) in chosen else "", label) for key, label in self.choices),
        )
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(self.build_attrs(self.attrs, attrs)), options)
