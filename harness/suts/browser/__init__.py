"""JsSIP 3.13.8 in Debian's Chromium as a real WIC under test (driver name `browser`)."""

from harness.suts.browser.driver import BrowserWicDriver

__all__ = ["BrowserWicDriver"]
