"""Tests against real peers (Kamailio, JsSIP in Chromium): `pytest -m realpeer`."""
