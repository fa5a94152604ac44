"""PORTAL_COST_ASSUMPTIONS is checked when the settings load: a misspelt or negative assumption stops
the portal with the setting's name instead of being priced at the default."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.costs.config import cost_assumptions
from portal.costs.estimate import DEFAULT_ASSUMPTIONS


def read(value: str | None) -> dict:
    environ = {} if value is None else {"PORTAL_COST_ASSUMPTIONS": value}
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("PORTAL_COST_ASSUMPTIONS", raising=False)
        for name, text in environ.items():
            patch.setenv(name, text)
        return cost_assumptions("PORTAL_COST_ASSUMPTIONS")


def test_unset_is_the_defaults_and_a_given_assumption_replaces_only_its_own():
    assert read(None) == DEFAULT_ASSUMPTIONS
    assert read('{"nat_gb_per_month": 500, "alb_lcus": 2.5}') == {**DEFAULT_ASSUMPTIONS, "nat_gb_per_month": 500, "alb_lcus": 2.5}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"nat_gb": 5}', "'nat_gb', which is not an assumption of the estimate; it takes alb_lcus"),
        ('{"alb_lcus": -1}', "alb_lcus must be a number, at least 0 (got -1)"),
        ('{"alb_lcus": "2"}', "alb_lcus must be a number"),
        ('{"alb_lcus": true}', "alb_lcus must be a number"),
        ("[1, 2]", "PORTAL_COST_ASSUMPTIONS must be a JSON object"),
        ("{nat", "PORTAL_COST_ASSUMPTIONS is not valid JSON"),
    ],
)
def test_a_bad_assumption_is_refused_naming_the_setting(value, message):
    with pytest.raises(ImproperlyConfigured, match="PORTAL_COST_ASSUMPTIONS") as refused:
        read(value)
    assert message in str(refused.value)
