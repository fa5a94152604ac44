"""What superusers do to the job queues on django-rq's dashboard (/django-rq/, and its copy under
/admin/django_rq/): delete, requeue, enqueue or stop a job, empty a queue, requeue or delete its
failed jobs. Those views are a library's and call no function of ours, so this middleware records
them from outside: a POST to one of them that was answered without an error. Deleting a run's job can
leave the run waiting until the reaper finds it, so who did it belongs in the trail."""

from portal.audit import record

# django-rq's view names (the admin's copies are prefixed `django_rq_`) that change Redis on a POST.
# `confirm_action` only shows a confirmation page.
WRITING_VIEWS = frozenset({"delete_job", "requeue_job", "enqueue_job", "stop_job", "clear", "requeue_all", "delete_failed_jobs", "actions"})
MOST_JOB_IDS = 100  # a bulk action names its jobs; a page holds at most this many


def dashboard_view(match) -> str | None:
    """The django-rq view a request resolved to, when it is one that writes."""
    if match is None or not match.url_name:
        return None
    if "django_rq" in match.namespaces:
        name = match.url_name
    elif "admin" in match.namespaces and match.url_name.startswith("django_rq_"):
        name = match.url_name.removeprefix("django_rq_")
    else:
        return None
    return name if name in WRITING_VIEWS else None


class QueueDashboardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method == "POST" and response.status_code < 400:
            view = dashboard_view(getattr(request, "resolver_match", None))
            if view is not None and (view != "actions" or request.POST.get("action")):
                kwargs = request.resolver_match.kwargs
                record(
                    "queue.change",
                    request.user,
                    None,
                    view=view,
                    queue_index=kwargs.get("queue_index"),
                    job_id=kwargs.get("job_id"),
                    bulk_action=request.POST.get("action") or None,
                    job_ids=request.POST.getlist("job_ids")[:MOST_JOB_IDS] or None,
                )
        return response
