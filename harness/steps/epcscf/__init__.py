"""Step kinds for cases whose SUT is an eP-CSCF (wicct plays the WIC and the IMS core).

Importing this package registers the role's environment and steps.
"""

from harness.steps.epcscf import auth, binding, calls, core, env, handshake, registrar, sessions

__all__ = ["auth", "binding", "calls", "core", "env", "handshake", "registrar", "sessions"]
