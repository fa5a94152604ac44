"""LongSelect renders what Django's Select renders (the tokens page's services), in one pass."""

from html.parser import HTMLParser

import pytest
from django import forms

from portal.core.forms import LongSelect

CHOICES = [("", "Every <service> I may act on"), ("1", "billing & co"), ("2", 'say "hi"'), ("30", "search")]


def parsed(html: str) -> list:
    """The elements, their attributes (in any order) and their text: what a browser reads."""
    found = []

    class Reader(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, frozenset(attrs)))

        def handle_data(self, data):
            if data.strip():
                found.append(("text", data.strip()))

    Reader(convert_charrefs=True).feed(html)
    return found


def form(widget):
    class Form(forms.Form):
        service = forms.ChoiceField(choices=CHOICES, required=False, help_text="One service, or none.", widget=widget)

    return Form


@pytest.mark.parametrize("data", [None, {"service": "2"}, {"service": "30"}, {"service": "7"}], ids=["unbound", "chosen", "last", "unknown"])
def test_it_renders_the_options_attributes_and_choice_of_djangos_select(data):
    ours, djangos = str(form(LongSelect)(data)["service"]), str(form(forms.Select)(data)["service"])

    assert parsed(ours) == parsed(djangos)


def test_the_chosen_option_alone_is_selected():
    options = [attrs for tag, attrs in parsed(str(form(LongSelect)({"service": "2"})["service"])) if tag == "option"]

    assert [dict(attrs)["value"] for attrs in options if ("selected", None) in attrs] == ["2"]


def test_labels_and_values_are_escaped():
    html = str(form(LongSelect)()["service"])

    assert "Every &lt;service&gt; I may act on" in html and "billing &amp; co" in html and "say &quot;hi&quot;" in html
