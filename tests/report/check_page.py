#!/usr/bin/python3
"""Open a static HTML page in headless Chromium and check that it renders:
every image loaded, no console message, no script or resource error.

  /usr/bin/python3 tests/report/check_page.py PAGE.html [--screenshot PNG]
      [--expect-text TEXT]... [--no-script] [--chromium PATH]

How failures are seen:
- images and resource errors: a probe copy of the page (PAGE's folder,
  .probe-<pid>.html, removed afterwards) gets a script at the top of <head>
  that records every error event (capture phase: an <img> or <link> that
  fails to load, an uncaught script error) and, on the load event, counts
  the images that are not (complete and naturalWidth > 0); it writes its
  findings into data-probe-* attributes of <body>, which --dump-dom returns.
  The number of <img> Chromium saw must equal the number in the HTML source.
- console messages: both the probe and the page itself run with
  --enable-logging=stderr --v=0, which prints every console message
  (console.log/error, "Uncaught ReferenceError: ...") as a line with
  ":CONSOLE" in it; any such line fails the check (a static report logs
  nothing).
- rendering: the page itself is screenshotted (--screenshot), the PNG must
  exist and not be blank (more than one colour), and its --dump-dom must
  contain every --expect-text.
- --no-script: the page's source must hold no <script> (it must not need
  JavaScript).
Prints one line "page OK: ..." or "page FAILED: ..." per problem; exits 0
when all hold, 1 otherwise, 2 when Chromium is missing.
"""
import argparse
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROBE = """<script>
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    var t = e.target;
    if (t && t !== window && t.tagName) {
      errors.push('failed to load ' + t.tagName.toLowerCase() + ' ' + (t.getAttribute('src') || t.getAttribute('href')));
    } else {
      errors.push('script error: ' + e.message);
    }
  }, true);
  window.addEventListener('load', function () {
    var imgs = Array.prototype.slice.call(document.images);
    var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                     .map(function (i) { return i.getAttribute('src'); });
    var b = document.body;
    b.setAttribute('data-probe-images', String(imgs.length));
    b.setAttribute('data-probe-broken', broken.join(' '));
    b.setAttribute('data-probe-errors', errors.join(' | '));
    b.setAttribute('data-probe', 'done');
  });
})();
</script>
"""

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio", "--disable-breakpad",
         "--enable-logging=stderr", "--v=0"]


class ImgCounter(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.scripts = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs).get("src"))
        elif tag == "script":
            self.scripts += 1


def chromium(binary, url, extra, timeout=60):
    profile = tempfile.mkdtemp(prefix="check_page-")
    try:
        # crash reports and caches go to the temporary profile, not to $HOME
        env = dict(os.environ, XDG_CONFIG_HOME=profile, XDG_CACHE_HOME=profile)
        p = subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *extra, url],
                           capture_output=True, text=True, timeout=timeout, env=env)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return -1, "", f"chromium timed out after {timeout} s"
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def console_lines(stderr):
    return [line.strip() for line in stderr.splitlines() if ":CONSOLE" in line]


def blank_png(path):
    import matplotlib.image
    img = matplotlib.image.imread(path)
    return img.reshape(-1, img.shape[-1]).std(axis=0).max() == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("page")
    ap.add_argument("--screenshot", help="where to write the screenshot (default: a temporary file)")
    ap.add_argument("--window-size", default="1280,2000")
    ap.add_argument("--expect-text", action="append", default=[])
    ap.add_argument("--no-script", action="store_true", help="the page must hold no <script>")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()

    if not os.access(args.chromium, os.X_OK):
        print(f"page FAILED: no Chromium at {args.chromium} (apt-get install chromium)")
        return 2
    page = os.path.abspath(args.page)
    with open(page, encoding="utf-8") as f:
        source = f.read()
    counter = ImgCounter()
    counter.feed(source)
    problems = []
    if args.no_script and counter.scripts:
        problems.append(f"the page holds {counter.scripts} <script> element(s); it must need no JavaScript")

    # 1. the probe copy: images and error events
    probe = os.path.join(os.path.dirname(page), f".probe-{os.getpid()}.html")
    m = re.search(r"<head[^>]*>", source, re.I)
    probed = source[:m.end()] + PROBE + source[m.end():] if m else PROBE + source
    with open(probe, "w", encoding="utf-8") as f:
        f.write(probed)
    try:
        rc, dom, err = chromium(args.chromium, "file://" + probe, ["--dump-dom"])
    finally:
        os.unlink(probe)
    body = re.search(r"<body([^>]*)>", dom)
    attrs = dict(re.findall(r'(data-probe[\w-]*)="([^"]*)"', body.group(1))) if body else {}
    if rc != 0:
        problems.append(f"chromium --dump-dom exited {rc}: {err.strip().splitlines()[-1:] }")
    if attrs.get("data-probe") != "done":
        problems.append("the page's load event never fired (or the DOM dump failed)")
    else:
        seen = int(attrs.get("data-probe-images", "0"))
        if seen != len(counter.images):
            problems.append(f"Chromium saw {seen} images, the HTML has {len(counter.images)}")
        if attrs.get("data-probe-broken"):
            problems.append(f"images not loaded: {attrs['data-probe-broken']}")
        if attrs.get("data-probe-errors"):
            problems.append(f"error events: {html.unescape(attrs['data-probe-errors'])}")
    for line in console_lines(err):
        problems.append(f"console (probe): {line}")

    # 2. the page itself: console, text, screenshot
    rc, dom, err = chromium(args.chromium, "file://" + page, ["--dump-dom"])
    for line in console_lines(err):
        problems.append(f"console: {line}")
    text = html.unescape(re.sub(r"<[^>]+>", " ", dom))
    text = re.sub(r"\s+", " ", text)
    for want in args.expect_text:
        if re.sub(r"\s+", " ", want) not in text:
            problems.append(f"the rendered page lacks the text {want!r}")
    shot_dir = None if args.screenshot else tempfile.mkdtemp(prefix="check_page-shot-")
    shot = args.screenshot or os.path.join(shot_dir, "page.png")
    rc, _, err = chromium(args.chromium, "file://" + page,
                          [f"--screenshot={os.path.abspath(shot)}", f"--window-size={args.window_size}",
                           "--hide-scrollbars"])
    for line in console_lines(err):
        problems.append(f"console (screenshot): {line}")
    if rc != 0 or not os.path.isfile(shot) or os.path.getsize(shot) == 0:
        problems.append(f"no screenshot (chromium exited {rc})")
    elif blank_png(shot):
        problems.append("the screenshot is blank")

    for p in problems:
        print(f"page FAILED: {p}")
    if not problems:
        print(f"page OK: {len(counter.images)} images loaded, no console message, "
              f"no error event, screenshot " + (shot if shot_dir is None else "not kept"))
    if shot_dir:
        shutil.rmtree(shot_dir, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
