from django.db import migrations, models


def worded_outcomes(apps, schema_editor):
    """Rows from before outcomes: their error may be an exception's raw text (what answered at an
    address), which pages must no longer show. Each gets the outcome its fields imply, and only words."""
    Delivery = apps.get_model("notifications", "Delivery")
    attempted = Delivery.objects.filter(attempts__gt=0)
    attempted.filter(status="delivered").update(outcome="delivered", error="")
    refused = attempted.exclude(status="delivered").filter(response_code__isnull=False)
    refused.filter(response_code__gte=300, response_code__lt=400).update(outcome="receiver_refused", error="redirects are not followed")
    refused.exclude(response_code__gte=300, response_code__lt=400).update(outcome="receiver_refused", error="")
    attempted.exclude(status="delivered").filter(response_code__isnull=True).update(outcome="unreachable", error="")


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='delivery',
            name='outcome',
            field=models.CharField(blank=True, choices=[('delivered', 'Delivered'), ('receiver_refused', 'Refused by the receiver'), ('unreachable', 'Unreachable'), ('portal_refused', 'Refused by the portal (address not allowed)')], help_text='Of the last attempt; blank before the first.', max_length=32),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='error',
            field=models.CharField(blank=True, help_text="The outcome's detail, in the portal's own words.", max_length=500),
        ),
        migrations.RunPython(worded_outcomes, migrations.RunPython.noop),
    ]
