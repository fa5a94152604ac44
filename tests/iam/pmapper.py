"""principalmapper's local policy simulation, imported once here.

principalmapper 1.1.5 (its latest release) imports Mapping and MutableMapping from `collections`,
which Python 3.10 removed (they live in `collections.abc` since 3.3): nccgroup/PMapper#131 and #140,
the fix (#139) still unmerged. The two names are put back before the import; nothing else of the
library is changed."""

import collections
import collections.abc

for _name in ("Mapping", "MutableMapping"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

from principalmapper.common import Node, Policy  # noqa: E402
from principalmapper.querying.local_policy_simulation import policy_has_matching_statement  # noqa: E402
from principalmapper.querying.query_interface import local_check_authorization_full  # noqa: E402
from principalmapper.util.case_insensitive_dict import CaseInsensitiveDict  # noqa: E402

__all__ = ["CaseInsensitiveDict", "Node", "Policy", "local_check_authorization_full", "policy_has_matching_statement"]
