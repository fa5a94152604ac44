from portal.changes.inbox import waiting_count


def changes_waiting(request):
    """`changes_waiting`: how many changes wait for the user's approval, for the navigation. A
    callable, so the count is asked only by a page that shows it."""
    user = getattr(request, "user", None)
    return {"changes_waiting": (lambda: waiting_count(user)) if user is not None else 0}
