"""The test clients' static files are read once a session (tests/conftest.py,
`static_files_read_once`): a later middleware reads no file, and answers every static file as one
that read the collection itself does."""

from unittest import mock

import pytest
import whitenoise.base
from django.templatetags.static import static
from django.test import Client, RequestFactory
from whitenoise.base import WhiteNoise
from whitenoise.middleware import WhiteNoiseMiddleware


def made_reading(read=None) -> tuple[WhiteNoiseMiddleware, int]:
    """A middleware as a test client makes it, and how many folders it read (scantree, per folder)."""
    with mock.patch.object(whitenoise.base, "scantree", wraps=whitenoise.base.scantree) as scanned:
        if read is None:
            middleware = WhiteNoiseMiddleware(lambda request: None)
        else:
            with mock.patch.object(WhiteNoise, "update_files_dictionary", read):
                middleware = WhiteNoiseMiddleware(lambda request: None)
    return middleware, scanned.call_count


def served(middleware: WhiteNoiseMiddleware, url: str) -> tuple[int, dict, bytes]:
    response = middleware.serve(middleware.files[url], RequestFactory().get(url, HTTP_ACCEPT_ENCODING="gzip"))
    return response.status_code, dict(response.headers), b"".join(response.streaming_content)


@pytest.mark.django_db
def test_a_later_middleware_reads_no_static_file_and_serves_as_a_fresh_read(collected_static):
    url = static("rest_framework/css/default.css")
    assert url != "/static/rest_framework/css/default.css", "the manifest's hashed name"
    first = Client().get(url, HTTP_ACCEPT_ENCODING="gzip")  # the session's first read, if no test made one
    assert first.status_code == 200 and "immutable" in first["Cache-Control"] and first["Content-Encoding"] == "gzip"

    later, later_read = made_reading()
    fresh, fresh_read = made_reading(WhiteNoise.update_files_dictionary.__wrapped__)

    assert later_read == 0 and fresh_read > 0, (later_read, fresh_read)  # scantree: once per folder
    assert set(later.files) == set(fresh.files) and url in later.files
    assert [served(later, name)[:2] for name in sorted(later.files)] == [served(fresh, name)[:2] for name in sorted(fresh.files)]
    assert served(later, url) == served(fresh, url)
