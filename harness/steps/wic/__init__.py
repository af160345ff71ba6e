"""Step kinds for cases whose SUT is a WIC (wicct plays the eP-CSCF and the IMS core).

Importing this package registers the role's environment and steps.
"""

from harness.steps.wic import auth, calls, connection, controls, env, sip

__all__ = ["auth", "calls", "connection", "controls", "env", "sip"]
