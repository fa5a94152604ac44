"""What people do in the admin site (/admin/), from the log entry the admin writes for each add, change
and delete: whichever model, the app's own or a library's (django-axes' lockouts, say). Users and
groups are left out here: their own signals record them wherever they change (portal.audit.accounts).

The admin writes one entry by `save()` for each object it adds, changes or deletes on its own page;
its list action that deletes several objects at once writes their entries in one `bulk_create`, which
sends no signal, so that bulk deletion is not recorded here (README, "Audit trail")."""

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db.models.signals import post_save

from portal.audit import ObjectRef, record

RECORDED_ELSEWHERE = {("auth", "user"), ("auth", "group")}
ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}


def admin_logged(sender, instance: LogEntry, created, raw=False, **kwargs):
    if raw or not created or instance.action_flag not in ACTIONS:
        return
    content_type = instance.content_type
    model = (content_type.app_label, content_type.model) if content_type else ("", "")
    if model in RECORDED_ELSEWHERE:
        return
    obj = None
    if instance.action_flag != DELETION and content_type is not None:
        obj = content_type.get_all_objects_for_this_type().filter(pk=instance.object_id).first()
    if obj is None:  # deleted: named as the admin named it
        obj = ObjectRef(".".join(model), str(instance.object_id or ""), instance.object_repr)
    record(ACTIONS[instance.action_flag], instance.user, obj, what=instance.get_change_message())


def connect() -> None:
    post_save.connect(admin_logged, sender=LogEntry, dispatch_uid="portal.audit.admin_site")
