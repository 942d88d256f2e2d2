"""Static weight: brotli from WhiteNoise, and an ECharts build holding only what the pages draw."""

import re
import urllib.request

import brotli
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage

from tests.live import running_console
from tests.test_request_threads import through_router

ECHARTS = "vendor/echarts/echarts.min.js"


def vendored_echarts():
    path = finders.find(ECHARTS)
    assert isinstance(path, str), ECHARTS
    with open(path, "rb") as file:
        return file.read()


async def test_a_browser_accepting_brotli_gets_the_brotli_file():
    response = await through_router(
        "GET", staticfiles_storage.url(ECHARTS), headers=[(b"accept-encoding", b"gzip, deflate, br, zstd")]
    )
    assert response["status"] == 200
    assert dict(response["headers"])[b"Content-Encoding"] == b"br"
    assert brotli.decompress(response["body"]) == vendored_echarts()


async def test_a_client_without_brotli_gets_gzip():
    response = await through_router("GET", staticfiles_storage.url(ECHARTS), headers=[(b"accept-encoding", b"gzip")])
    assert dict(response["headers"])[b"Content-Encoding"] == b"gzip"


def test_the_console_as_make_run_serves_it_sends_hashed_brotli_files_cached_for_years():
    with running_console("embedded") as console:
        login_page = urllib.request.urlopen(f"{console.url}/login/", timeout=10).read().decode()
        stylesheet = re.search(r'href="(/static/css/console\.[0-9a-f]{12}\.css)"', login_page).group(1)
        request = urllib.request.Request(f"{console.url}{stylesheet}", headers={"Accept-Encoding": "br, gzip"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Content-Encoding"] == "br"
            assert "max-age=315360000" in response.headers["Cache-Control"]  # a hashed name never changes content
            assert b".topbar" in brotli.decompress(response.read())


def test_the_vendored_echarts_is_the_custom_build_well_under_the_full_one():
    # The full dist/echarts.min.js of 6.1.0 is 1,121,883 bytes (298,840 brotli);
    # a build that grew back towards it has pulled in every chart again.
    source = vendored_echarts()
    assert source.startswith(b"/*! Apache ECharts 6.1.0, custom build")
    assert len(source) < 700_000
    assert len(brotli.compress(source)) < 200_000
