"""Data Docs offline: every CDN asset of GE's templates has a pinned local copy, and pages point at it."""

from __future__ import annotations

import re
from pathlib import Path

import great_expectations

from jobs.quality.docs_assets import CDN_FILES, localize_html, missing_assets, packaged_assets_dir

GE_TEMPLATES = Path(great_expectations.__file__).parent / "render" / "view" / "templates"


def test_every_cdn_script_and_stylesheet_of_ge_templates_has_a_local_copy():
    tags = re.findall(r"<(?:script|link)\b[^>]*>", " ".join(p.read_text() for p in GE_TEMPLATES.glob("*.j2")))
    urls = {m for tag in tags for m in re.findall(r'(?:src|href)="(https?://[^"]+)"', tag)}
    assert urls, "no CDN references found: the templates moved"
    assert sorted(urls - set(CDN_FILES)) == []
    assert missing_assets(packaged_assets_dir()) == []


def test_localize_html_points_at_the_copy_and_drops_integrity_and_crossorigin():
    html = (
        '<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" '
        'integrity="sha384-abc" crossorigin="anonymous"></script>\n'
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>\n'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1" alt="x"/>\n'
        '<a href="https://greatexpectations.io/newsletter">news</a>\n'
        '<script src="https://example.com/unknown.js" integrity="sha384-keep"></script>'
    )
    got = localize_html(html, vendor_prefix="../static/vendor/", images_prefix="../static/images/")
    assert got.splitlines() == [
        '<script src="../static/vendor/bootstrap/dist/js/bootstrap.min.js"></script>',
        '<link rel="stylesheet" href="../static/vendor/bootstrap/dist/css/bootstrap.min.css"/>',
        '<img src="../static/images/logo-long.png" alt="x"/>',
        '<a href="https://greatexpectations.io/newsletter">news</a>',
        '<script src="https://example.com/unknown.js" integrity="sha384-keep"></script>',
    ]
