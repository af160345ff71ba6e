"""What the browser driver serves (harness.suts.browser.server.Site): wicct's page by
default, or exactly the vendor's page and assets that the profile names."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.suts.browser.server import FILES, PAGE, WEB_DIR, PageServer, Site, SiteError


@pytest.fixture
def web(tmp_path: Path) -> Path:
    root = tmp_path / "acme"
    (root / "js").mkdir(parents=True)
    (root / "index.html").write_text("<html>acme</html>")
    (root / "js" / "glue.js").write_text("window.wic = {};")
    (root / ".secret").write_text("no")
    (tmp_path / "vendor-bundle.js").write_text("var SIP = {};")
    return root


def test_without_page_the_builtin_site_is_served() -> None:
    site = Site.from_options({"verb_timeout": 5}, Path("/nowhere"))
    assert site == Site.builtin()
    assert site.page == PAGE and set(site.files) == set(FILES)
    assert site.files[PAGE] == WEB_DIR / PAGE


def test_default_assets_are_the_page_folder_without_hidden_files(web: Path) -> None:
    site = Site.from_options({"page": "acme/index.html"}, web.parent)
    assert site.page == "index.html"
    assert set(site.files) == {"index.html", "js/glue.js"}
    body, kind = site.read("/js/glue.js?v=1") or (b"", "")
    assert body == b"window.wic = {};" and kind.startswith("text/javascript")
    assert site.read("/") == ((web / "index.html").read_bytes(), "text/html; charset=utf-8")
    assert site.read("/.secret") is None and site.read("/wic.js") is None


def test_assets_as_a_list_and_as_a_mapping(web: Path) -> None:
    base = web.parent
    listed = Site.from_options({"page": "acme/index.html", "assets": ["acme/js", "vendor-bundle.js"]}, base)
    assert set(listed.files) == {"index.html", "glue.js", "vendor-bundle.js"}
    mapped = Site.from_options(
        {"page": str(web / "index.html"), "assets": {"lib/sip.js": "vendor-bundle.js", "app": "acme/js"}},
        base,
    )
    assert set(mapped.files) == {"index.html", "lib/sip.js", "app/glue.js"}
    assert mapped.missing() == []


@pytest.mark.parametrize(
    ("options", "key", "message"),
    [
        ({"page": "acme/nowhere.html"}, "page", "no such file or folder"),
        ({"page": "acme"}, "page", "not a file"),
        ({"page": "acme/index.html", "assets": ["gone.js"]}, "assets", "no such file"),
        ({"page": "acme/index.html", "assets": {"../up.js": "vendor-bundle.js"}}, "assets", "URL path"),
        ({"page": "acme/index.html", "assets": "vendor-bundle.js"}, "assets", "a list"),
    ],
)
def test_bad_page_options(web: Path, options: dict[str, object], key: str, message: str) -> None:
    with pytest.raises(SiteError, match=message) as err:
        Site.from_options(options, web.parent)
    assert err.value.key == key


def test_the_page_server_serves_only_the_site(web: Path) -> None:
    site = Site.from_options({"page": "acme/index.html"}, web.parent)
    server = PageServer("127.0.0.1", 0, site=site)
    try:
        base = f"http://127.0.0.1:{server.port}"
        with urllib.request.urlopen(f"{base}/js/glue.js", timeout=5) as response:
            assert response.read() == b"window.wic = {};"
        for name in ("wic.js", "wic.html", ".secret", "../acme/index.html"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(f"{base}/{name}", timeout=5)
            assert err.value.code == 404, name
    finally:
        server.stop()
