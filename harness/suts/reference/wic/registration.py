"""The reference WIC's registration (RFC 3261 §10.2, RFC 5626 §4.2, RFC 7118 §5.2), with
a Digest answer to a challenge (RFC 3261 §22.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.sip import (
    SipMessage,
    SipParseError,
    build_digest_authorization,
    build_request,
    new_call_id,
    new_tag,
    parse_challenge,
)
from harness.suts.reference.wic.identity import AGENT, ALLOW

if TYPE_CHECKING:
    from harness.suts.reference.wic.ua import ReferenceWic

EXPIRES = 600


class Registration:
    """The WIC's REGISTERs: one Call-ID and From tag, the CSeq counting up (RFC 3261 §10.2.4)."""

    def __init__(self, ua: ReferenceWic) -> None:
        self.ua = ua
        self.call_id = new_call_id()
        self.tag = new_tag()
        self.cseq = 0

    def request(self, authorization: tuple[str, str] | None) -> SipMessage:
        me = self.ua.identity
        self.cseq += 1
        contact = (
            f"<sip:{me.user}@{me.host};transport={me.contact_transport()}>"
            f';+sip.ice;reg-id=1;+sip.instance="<{me.instance}>";expires={EXPIRES}'
        )
        headers = [
            ("Via", me.via()),
            ("Max-Forwards", "70"),
            ("To", me.aor),
            ("From", f"{me.aor};tag={self.tag}"),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.cseq} REGISTER"),
            ("Contact", contact),
            ("Expires", str(EXPIRES)),
            ("Allow", ALLOW),
            ("Supported", "path, outbound"),
            ("User-Agent", AGENT),
        ]
        if authorization is not None:
            headers.append(authorization)
        return build_request("REGISTER", f"sip:{me.profile.domain}", headers)

    async def run(self) -> None:
        ua = self.ua
        authorization: tuple[str, str] | None = None
        ua.detail = "registering"
        while True:
            response = await ua.transactions.transact(self.request(authorization))
            if response is None:
                ua.registered = False
                ua.detail = "REGISTER got no final response"
                return
            status = response.status or 0
            if status in (401, 407) and authorization is None and ua.profile.password:
                authorization = self.authorization(response)
                if authorization is not None:
                    continue
            ua.registered = 200 <= status < 300
            if ua.registered:
                ua.service_route = response.header_values("Service-Route")
                ua.detail = "registered"
            else:
                ua.detail = f"REGISTER answered {status}"
            ua.log(f"registration: {ua.detail}")
            return

    def authorization(self, response: SipMessage) -> tuple[str, str] | None:
        """RFC 3261 §22.2: answer a Digest challenge with the profile's credentials."""
        profile = self.ua.profile
        name = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        try:
            challenge = parse_challenge(response.header(name) or "")
        except SipParseError:
            return None
        if challenge.scheme.lower() != "digest":
            return None
        offered = [q.strip() for q in (challenge.param("qop") or "").split(",") if q.strip()]
        value = build_digest_authorization(
            username=profile.impi,
            realm=challenge.param("realm") or profile.domain,
            password=profile.password,
            method="REGISTER",
            uri=f"sip:{profile.domain}",
            nonce=challenge.param("nonce") or "",
            qop="auth" if "auth" in offered else None,
            algorithm=challenge.param("algorithm") or "MD5",
            opaque=challenge.param("opaque"),
        )
        return ("Authorization" if response.status == 401 else "Proxy-Authorization", value)
