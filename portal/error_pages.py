"""Error pages that say what went wrong and what to do (Django's defaults say only "Bad Request",
"Forbidden" or "Not Found"). The messages shown come from the portal's own exceptions, written for
the user; anything else keeps a generic sentence."""

from django.shortcuts import render


def own_message(exception) -> str:
    module = type(exception).__module__
    ours = module.startswith("portal") or type(exception).__name__ in {"BadRequest", "Http404"}
    return str(exception) if ours and exception.args else ""


def bad_request(request, exception, template_name="400.html"):
    return render(request, template_name, {"message": own_message(exception)}, status=400)


def permission_denied(request, exception, template_name="403.html"):
    return render(request, template_name, {"message": own_message(exception)}, status=403)


def page_not_found(request, exception, template_name="404.html"):
    return render(request, template_name, {"message": own_message(exception)}, status=404)
