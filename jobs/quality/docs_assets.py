"""Data Docs that work offline: the CSS, fonts and scripts GE's pages load from CDNs, served from the site.

Great Expectations' page templates load Bootstrap, Font Awesome (the pass/fail status icons), jQuery and
bootstrap-table (which builds the index page's table) from public CDNs, so on a locked-down cluster or
in CI a page loses its styling, its status icons and the index's list. After GE builds the site, every
such reference is pointed at a copy under `static/vendor/` of the site. The copies come from the npm
packages pinned in package.json (`make setup` installs them into node_modules; `make package` puts them
in the wheel as package data). Tags lose `integrity` and `crossorigin`: the hashes are of the CDN's
files, and a browser refuses `crossorigin` scripts from `file://` pages.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

VENDOR_DIR = Path("static") / "vendor"

# Each CDN address in GE's templates -> the file of the pinned npm package that serves it.
CDN_FILES = {
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed/build/vega-embed.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "@fortawesome/fontawesome-free/css/all.min.css"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js/dist/umd/popper.min.js",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/dist/js/bootstrap.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/dist/css/bootstrap.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table/dist/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table/dist/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker/dist/css/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker/dist/js/bootstrap-datepicker.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "@forevolve/bootstrap-dark/dist/css/bootstrap-prefers-dark.css"
    ),
}
# GE's logo, which its templates load from GE's website although the site holds a copy in static/images.
GE_IMAGES = {"https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png": "logo-long.png"}
# Folders a stylesheet loads by relative URL (Font Awesome's all.min.css -> ../webfonts/*).
CDN_FOLDERS = ["@fortawesome/fontawesome-free/webfonts"]

_TAG = re.compile(r"<(script|link|img)\b[^>]*>", re.IGNORECASE)
_URL = re.compile(r"""\b(src|href)=(["'])(https?://[^"']+)\2""", re.IGNORECASE)
_CROSS_ORIGIN = re.compile(r"""\s+(integrity|crossorigin)=(["'])[^"']*\2""", re.IGNORECASE)


def packaged_assets_dir() -> Path:
    """Where the copies are: package data in an installed wheel, else the checkout's node_modules."""
    packaged = Path(__file__).resolve().parent / "vendor"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "node_modules"


def missing_assets(assets_dir: Path) -> list[str]:
    return [rel for rel in [*CDN_FILES.values(), *CDN_FOLDERS] if not (assets_dir / rel).exists()]


def copy_assets(assets_dir: Path, target: Path) -> None:
    """Copy every pinned asset (and the folders they load from) under `target`; unchanged files are skipped."""
    for rel in CDN_FILES.values():
        _copy_if_changed(assets_dir / rel, target / rel)
    for rel in CDN_FOLDERS:
        for source in (assets_dir / rel).iterdir():
            _copy_if_changed(source, target / rel / source.name)


def _copy_if_changed(source: Path, destination: Path) -> None:
    if destination.exists() and destination.stat().st_size == source.stat().st_size:
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination)


def localize_html(html: str, *, vendor_prefix: str, images_prefix: str) -> str:
    """Point every known CDN `<script src>`/`<link href>` at `vendor_prefix` (without integrity or
    crossorigin) and GE's logo at the site's own copy under `images_prefix`."""

    def local_url(url: str) -> str | None:
        if url in CDN_FILES:
            return f"{vendor_prefix}{CDN_FILES[url]}"
        image = GE_IMAGES.get(url.split("?")[0])
        return f"{images_prefix}{image}" if image else None

    def rewrite_tag(tag: re.Match[str]) -> str:
        text = tag.group(0)
        url = _URL.search(text)
        local = local_url(url.group(3)) if url else None
        if url is None or local is None:
            return text
        text = text.replace(url.group(0), f"{url.group(1)}={url.group(2)}{local}{url.group(2)}")
        return _CROSS_ORIGIN.sub("", text)

    return _TAG.sub(rewrite_tag, html)


def make_site_offline(site_dir: Path, *, assets_dir: Path | None = None) -> bool:
    """Copy the assets into the site and rewrite every page; False (and a warning) when no copies exist."""
    assets_dir = assets_dir or packaged_assets_dir()
    missing = missing_assets(assets_dir)
    if missing:
        log.warning("Data Docs keep their CDN links: %s lacks %s (run `make setup`)", assets_dir, missing[0])
        return False
    vendor = site_dir / VENDOR_DIR
    copy_assets(assets_dir, vendor)
    for page in site_dir.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        localized = localize_html(
            html,
            vendor_prefix=_relative(vendor, page.parent),
            images_prefix=_relative(site_dir / "static" / "images", page.parent),
        )
        if localized != html:
            page.write_text(localized, encoding="utf-8")
    return True


def _relative(folder: Path, start: Path) -> str:
    return Path(os.path.relpath(folder, start)).as_posix() + "/"
