"""Error pages that say what went wrong (Django's default 400 page says only "Bad Request")."""

from django.shortcuts import render


def bad_request(request, exception, template_name="400.html"):
    # The messages come from the portal's own BadRequest exceptions, written for the user; anything
    # else (Django's SuspiciousOperation) keeps a generic sentence.
    message = str(exception) if type(exception).__module__.startswith("portal") or type(exception).__name__ == "BadRequest" else ""
    return render(request, template_name, {"message": message}, status=400)
