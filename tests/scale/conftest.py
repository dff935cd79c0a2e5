from tests.e2e.conftest import chromium, playwright  # noqa: F401  (Debian's Chromium, as the browser tests use it)
