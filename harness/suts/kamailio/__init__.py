"""Kamailio 5.6 as a real eP-CSCF under test (driver name `kamailio`)."""

from harness.suts.kamailio.driver import KamailioEpcscfDriver

__all__ = ["KamailioEpcscfDriver"]
