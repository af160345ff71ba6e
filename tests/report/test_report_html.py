"""report.html: content, escaping of hostile evidence, self-containment, links."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest

from harness.report import render_html
from harness.report.html import data_blocks, hexdump

from .sample import BINARY, IMG, XSS


class Page(HTMLParser):
    """Every tag with its attributes, ids, and the text inside <script> and <style>."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("script", "style"):
            self._in = tag
            (self.scripts if tag == "script" else self.styles).append("")

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts[-1] += data
        elif self._in == "style":
            self.styles[-1] += data

    def ids(self) -> list[str]:
        return [a["id"] for _, a in self.tags if "id" in a]

    def attr(self, name: str) -> list[str]:
        return [a[name] for _, a in self.tags if name in a]

    def by_id(self, id_: str) -> tuple[str, dict[str, str]]:
        return next((t, a) for t, a in self.tags if a.get("id") == id_)


def section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}">')
    return html[start : html.index("</section>", start)]


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.fixture
def html(report: dict) -> str:
    return render_html(report)


@pytest.fixture
def page(html: str) -> Page:
    return Page(html)


class TestContent:
    def test_header(self, html: str, report: dict) -> None:
        assert f"wicct {report['harness']['version']}" in html
        assert report["started"] in html and report["finished"] in html
        for sut in report["suts"]:
            assert sut["profile"] in html and sut["name"] in html and sut["driver"] in html
        assert "two-per-frame" in section(html, "sut")

    def test_every_case_has_an_anchored_article(self, page: Page, report: dict) -> None:
        articles = [a for t, a in page.tags if t == "article"]
        assert len(articles) == len(report["cases"])
        for case in report["cases"]:
            anchor = f"case-{case['profile']}--{case['id']}"
            assert anchor in page.ids()

    def test_cases_sorted_by_profile_then_id(self, page: Page, report: dict) -> None:
        shown = [a["id"] for t, a in page.tags if t == "article"]
        expected = sorted(f"case-{c['profile']}--{c['id']}" for c in report["cases"])
        assert shown == expected
        assert [c["id"] for c in report["cases"]] != [
            s.split("--")[1] for s in shown
        ]  # really sorted

    def test_one_row_per_requirement(self, html: str, report: dict) -> None:
        table = section(html, "requirements")
        rows = re.findall(r'<tr id="req-([^"]+)"', table)
        assert sorted(rows) == sorted(f"{r['profile']}--{r['id']}" for r in report["requirements"])
        assert {"reference-epcscf--EPC-HS-01", "reference-wic--WIC-FR-01"} <= set(rows)

    def test_requirement_row_shows_clause_strength_verdict_and_links(self, html: str) -> None:
        table = section(html, "requirements")
        row = table[table.index('<tr id="req-reference-wic--WIC-FR-01"') :]
        row = row[: row.index("</tr>")]
        assert "RFC 7118 §5" in row and ">shall<" in row and ">FAIL<" in row
        assert 'href="#case-reference-wic--WIC-FR-01-one-per-message"' in row

    def test_should_and_informational_listed_apart(self, html: str) -> None:
        should = section(html, "should")
        info = section(html, "informational")
        assert "WIC-KA-04" in should and "the SUT closed the socket after BYE" in should
        assert "EPC-KA-03" not in should
        assert "EPC-KA-03" in info and "the SUT sends no pings of its own" in info
        assert "WIC-KA-04" not in info

    def test_case_details(self, html: str) -> None:
        case = section(html, "cases")
        start = case.index('id="case-reference-wic--WIC-FR-01-one-per-message"')
        article = case[start : case.index("</article>", start)]
        for text in (
            "title of WIC-FR-01-one-per-message",
            "testcases/wic/WIC-FR-01-one-per-message.yaml:1",
            "0.432 s",
            "NON-STRICT",
            "SEED 5.1.X.4, 5.Y.4 (should)",
            "<details",
        ):
            assert text in article, text
        assert article.count('<tr id="case-reference-wic--WIC-FR-01-one-per-message.f') == 2

    def test_summary_counts(self, html: str, report: dict) -> None:
        summary = section(html, "summary")
        for verdict in ("PASS", "FAIL", "INCONCLUSIVE", "NOT-APPLICABLE", "ERROR"):
            count = report["summary"][verdict]
            assert re.search(
                rf'<span class="count">{count}</span><span class="label">{verdict}</span>', summary
            )


class TestEvidence:
    def test_cited_entries_highlighted(self, page: Page) -> None:
        case = "case-reference-wic--WIC-FR-01-one-per-message"
        classes = {seq: page.by_id(f"{case}.e{seq}")[1]["class"].split() for seq in (1, 2, 3, 4)}
        assert "cited" not in classes[1]
        assert all("cited" in classes[s] for s in (2, 3, 4))

    def test_finding_links_point_at_entries(self, html: str) -> None:
        case = "case-reference-wic--WIC-FR-01-one-per-message"
        assert f'<a href="#{case}.e2">#2</a> <a href="#{case}.e3">#3</a>' in html

    def test_every_internal_link_resolves(self, page: Page) -> None:
        ids = set(page.ids())
        assert len(ids) == len(page.ids()), "duplicate ids"
        targets = [h[1:] for h in page.attr("href")]
        assert targets and all(t in ids for t in targets), sorted(set(targets) - ids)

    def test_bytes_shown_as_hex_dump(self, html: str) -> None:
        assert hexdump(BINARY).replace("<", "&lt;").replace(">", "&gt;") in html
        assert f"payload · {len(BINARY)} bytes, not UTF-8" in html

    def test_raw_text_shown_in_full(self, html: str) -> None:
        assert "GET / HTTP/1.1\r\nOrigin: https://attacker.example\r\n" in html
        assert "raw · 81 chars · CRLF line ends" in html

    def test_data_blocks(self) -> None:
        blocks = data_blocks(
            {
                "opcode": 1,
                "fin": True,
                "raw": "A\r\nB\x00",
                "payload": {"hex": "00ff"},
                "headers": [["A", "b"]],
            }
        )
        assert [b["label"].split(" ")[0] for b in blocks] == ["fields", "raw", "payload", "headers"]
        assert blocks[0]["text"] == "opcode: 1\nfin: true"
        assert blocks[1]["text"] == "A\r\nB\\x00"  # control characters made visible
        assert blocks[2]["text"].startswith("00000000  00 ff")
        assert blocks[3]["text"] == "A: b"


class TestEscaping:
    def test_script_payload_escaped(self, html: str, page: Page) -> None:
        assert XSS not in html
        assert "Subject: &lt;script&gt;alert(&#34;wicct-xss&#34;)&lt;/script&gt;" in html
        assert len(page.scripts) == 1 and "wicct-xss" not in page.scripts[0]
        assert html.count("<script") == 1

    def test_img_payload_not_a_tag(self, html: str, page: Page) -> None:
        assert IMG not in html
        assert [t for t, _ in page.tags if t == "img"] == []

    def test_reason_escaped_everywhere(self, html: str) -> None:
        # the FAIL reason quotes the payload: in the case header, the findings and the title
        assert html.count("&lt;script&gt;alert(") >= 3


class TestSelfContained:
    def test_no_external_resources(self, page: Page, html: str) -> None:
        for name in ("src", "href", "action", "srcset", "data", "poster"):
            values = page.attr(name)
            assert all(v.startswith("#") for v in values), (name, values)
        assert {t for t, _ in page.tags} & {
            "link",
            "iframe",
            "img",
            "object",
            "embed",
            "base",
        } == set()
        css = "".join(page.styles)
        assert "url(" not in css and "@import" not in css
        assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html)

    def test_attacker_url_is_text_not_link(self, html: str, page: Page) -> None:
        assert "https://attacker.example" in html
        assert not any("attacker" in v for v in page.attr("href"))

    def test_csp_pins_inline_script_and_style(self, page: Page) -> None:
        csp = next(
            a["content"]
            for t, a in page.tags
            if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
        )
        assert "default-src 'none'" in csp
        assert f"script-src {sha256(page.scripts[0])}" in csp
        assert f"style-src {sha256(page.styles[0])}" in csp


class TestBanners:
    def test_no_insecure_banner_when_tls_verified(self, html: str) -> None:
        assert 'id="tls-insecure-banner"' not in html
        assert "DISABLED" not in html

    def test_insecure_banner(self, insecure_report: dict) -> None:
        html = render_html(insecure_report)
        start = html.index('id="tls-insecure-banner"')
        banner = html[start : html.index("</div>", start)]
        assert "TLS certificate verification was DISABLED" in banner
        assert "reference eP-CSCF" in banner and "reference WIC" not in banner

    def test_validation_problems_banner(self, report: dict) -> None:
        assert 'id="validation-banner"' not in render_html(report)
        html = render_html(report, problems=["cases[0].verdict: <b>bad</b>"])
        assert 'id="validation-banner"' in html and "&lt;b&gt;bad&lt;/b&gt;" in html


class TestTolerant:
    def test_renders_a_broken_report(self, tamper) -> None:
        report = tamper()
        report["cases"][0]["verdict"] = "<i>WAT</i>"
        del report["cases"][1]["findings"][0]["clause"]
        report["cases"][1]["findings"][0]["evidence"] = [77, "x"]
        del report["summary"]
        html = render_html(report)
        assert "&lt;i&gt;WAT&lt;/i&gt;" in html and "<i>WAT" not in html
        assert "#77?" in html  # cited but not in the evidence: shown, not linked

    def test_empty_report(self) -> None:
        html = render_html({})
        assert "No case was run." in html
