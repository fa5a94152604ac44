"""Tokens get a scope, an end and optionally one service.

The tokens that exist could do whatever their user may, and CI pipelines use them: they get the
write scope (what they could do, so no pipeline breaks today) and an end PORTAL_TOKEN_DEFAULT_DAYS
after this migration (not after their issue, which for an old token may be long past: they would
all stop at once, silently, at the upgrade). The tokens page shows each one's scope and end, so
their owners see when to replace them with narrower ones. Tokens revoked already were revoked by
hand: the only way there was."""

from datetime import timedelta

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def end_and_reason_of_existing_tokens(apps, schema_editor):
    # The foreign keys' checks at once, not at commit: PostgreSQL refuses to alter a table (the
    # column made required below, the new key's index) while checks of its updated rows are pending.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    ApiToken = apps.get_model("api", "ApiToken")
    ApiToken.objects.update(expires_at=timezone.now() + timedelta(days=settings.TOKEN_DEFAULT_DAYS))
    ApiToken.objects.exclude(revoked_at=None).update(revoked_reason="by_hand")


class Migration(migrations.Migration):

    dependencies = [
        ("api", "0001_initial"),
        ("catalog", "0009_service_team_required"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[
                    ("read", "read: reads only"),
                    ("deploy", "deploy: reads, and new image tags of its team's services"),
                    ("write", "write: whatever its user may"),
                ],
                default="write",
                max_length=8,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="apitoken",
            name="service",
            field=models.ForeignKey(
                blank=True,
                help_text="Empty: every service its user may act on.",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="api_tokens",
                to="catalog.service",
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="revoked_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("by_hand", "by hand"),
                    ("password_changed", "its user's password changed"),
                    ("left_team", "its user left the team it was for"),
                ],
                default="",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(end_and_reason_of_existing_tokens, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(),
        ),
        migrations.AddConstraint(
            model_name="apitoken",
            constraint=models.CheckConstraint(
                condition=models.Q(("scope__in", ["read", "deploy", "write"])), name="api_token_scope_known"
            ),
        ),
        migrations.AddConstraint(
            model_name="apitoken",
            constraint=models.CheckConstraint(
                condition=models.Q(("expires_at__gt", models.F("created_at"))), name="api_token_ends_after_issue"
            ),
        ),
    ]
