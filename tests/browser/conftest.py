"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Never ``playwright install``: the browser is the system one (``CHROMIUM_PATH``, default /usr/bin/chromium).
A failing test leaves a screenshot in ``test-artifacts/``.
"""

import os
import re
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

# Playwright's sync API runs an event loop in the test thread, which trips Django's async-safety check
# when fixtures touch the database (the known fix for live_server + sync Playwright).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    if os.access(CHROMIUM, os.X_OK):
        return
    skip = pytest.mark.skip(
        reason=f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)"
    )
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    args = {key: value for key, value in browser_type_launch_args.items() if key != "channel"}
    args["executable_path"] = CHROMIUM
    args["args"] = [
        *args.get("args", []),
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    return args


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def screenshot_on_failure(request, page):
    """Saves the page to ``test-artifacts/<test name>.png`` when the test fails."""
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def sign_in(live_server, page, django_user_model):
    """Returns ``sign_in(username="reader", create=True)``: makes the user (unless ``create`` is false) and
    signs in through the login page, which lands on "My work"; then opens the maintenance view (the home
    page) unless ``home=False``."""

    def sign_in(username: str = "reader", *, create: bool = True, home: bool = True):
        if create:
            django_user_model.objects.create_user(username, password=PASSWORD)
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_url(f"{live_server.url}/my-work/")
        if home:
            page.goto(f"{live_server.url}/")

    return sign_in


# Chromium reports a Content Security Policy violation as an event on the document (and a console error).
LISTEN_FOR_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${where}`);
});
"""


@pytest.fixture
def watched(page):
    """Records the page's CSP violations (events and console errors); returns a function listing them."""
    console = []
    page.add_init_script(LISTEN_FOR_CSP_VIOLATIONS)
    page.on(
        "console",
        lambda msg: (
            console.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )

    def violations() -> list[str]:
        return [*page.evaluate("window.__cspViolations || []"), *console]

    return violations
