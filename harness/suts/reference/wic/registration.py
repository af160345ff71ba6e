"""The reference WIC's registration (RFC 3261 §10.2, RFC 5626 §4.2, RFC 7118 §5.2): with
web credentials the Bearer token (RFC 8898 §2.1, WIC-REG-02), else TS 24.229's initial
Digest credentials and a Digest answer to a challenge, MD5 or SHA-256, stale nonces
included (RFC 3261 §22.2, RFC 7616; WIC-REG-01)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from harness.sip import (
    Challenge,
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
        self.registered_once = False  # faults *_on_reregister: a REGISTER after a 200
        self.refreshes = 0  # refreshes sent before expiry (fault via_tcp_on_second_refresh)
        self._refresh: asyncio.TimerHandle | None = None

    def request(self, authorization: tuple[str, str] | None) -> SipMessage:
        me = self.ua.identity
        self.cseq += 1
        again = self.registered_once
        transport = "tcp" if again and "contact_tcp_on_reregister" in self.ua.faults else me.contact_transport()
        spoiled = (again and "via_tcp_on_reregister" in self.ua.faults) or (
            self.refreshes == 2 and "via_tcp_on_second_refresh" in self.ua.faults)  # the 2nd refresh only
        via = me.via().replace("SIP/2.0/WSS", "SIP/2.0/TCP") if spoiled else me.via()
        contact = (
            f"<sip:{me.user}@{me.host};transport={transport}>"
            f';+sip.ice;reg-id=1;+sip.instance="<{me.instance}>";expires={EXPIRES}'
        )
        headers = [
            ("v" if "compact_via_tcp" in self.ua.faults else "Via",
             via.replace("SIP/2.0/WSS", "SIP/2.0/TCP") if "compact_via_tcp" in self.ua.faults else via),
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

    def initial(self) -> tuple[str, str] | None:
        """The credentials of a REGISTER that answers no challenge: the Bearer token
        (RFC 8898 §2.1); with a password, TS 24.229 5.1.1.2.1's Digest with the IMPI,
        realm and uri and an empty nonce and response (WIC-REG-01)."""
        me = self.ua.identity
        bearer = me.bearer("REGISTER")
        if bearer and self.refreshes == 2 and "bearer_one_byte_off_on_second_refresh" in self.ua.faults:
            name, value = bearer[0]  # RFC 8898 §2.1 broken on purpose: the 2nd refresh only
            return (name, value[:-1] + ("A" if value[-1] != "A" else "B"))
        if bearer:
            return bearer[0]
        profile = self.ua.profile
        if me.token or not profile.password or "no_initial_authorization" in self.ua.faults:
            return None
        return ("Authorization", f'Digest username="{profile.impi}", realm="{profile.domain}", '
                                 f'uri="sip:{profile.domain}", nonce="", response=""')

    async def run(self) -> None:
        """Register (RFC 3261 §10.2): answer one Digest challenge, and one more that says
        `stale=true` (RFC 7616 §3.3: the nonce aged, the credentials were right)."""
        ua = self.ua
        authorization = self.initial()
        answered = stale = False
        ua.detail = "registering"
        while True:
            response = await ua.transactions.transact(self.request(authorization))
            if response is None:
                ua.registered = False
                ua.detail = "REGISTER got no final response"
                return
            status = response.status or 0
            if status in (401, 407) and ua.profile.password and not ua.identity.token:
                challenge = self.challenge(response)
                retry = challenge is not None and (
                    not answered
                    or (not stale and (challenge.param("stale") or "").lower() == "true"
                        and "ignore_stale" not in ua.faults)
                )
                if challenge is not None and retry:
                    stale, answered = answered, True
                    if "new_call_id_after_401" in ua.faults:
                        self.call_id = new_call_id()  # RFC 3261 §10.2 broken on purpose
                    if "same_cseq_after_401" in ua.faults:
                        self.cseq -= 1  # RFC 3261 §10.2.4, §8.1.3.5 broken on purpose
                    authorization = self.authorization(response, challenge)
                    continue
            ua.registered = 200 <= status < 300
            if ua.registered:
                self.registered_once = True
                self.schedule_refresh(response)
                ua.service_route = response.header_values("Service-Route")
                ua.detail = "registered"
            else:
                ua.detail = f"REGISTER answered {status}"
            ua.log(f"registration: {ua.detail}")
            return

    def schedule_refresh(self, response: SipMessage) -> None:
        """Refresh before the binding expires (RFC 3261 §10.2.4; RFC 5626 §4.2.1 refreshes
        on the same flow): at half the duration the 200 granted for our Contact."""
        granted = EXPIRES
        try:
            mine = [c for c in response.contacts if self.ua.identity.user in str(c.uri)]
            raw = (mine[0].param("expires") if mine else None) or response.header("Expires")
            granted = int(raw) if raw and raw.strip().isdigit() else EXPIRES
        except SipParseError:
            pass
        if self._refresh is not None:
            self._refresh.cancel()
        self._refresh = asyncio.get_running_loop().call_later(max(granted / 2, 0.5), self._due)

    def _due(self) -> None:
        ua = self.ua
        if ua.stopping or not ua.connected or not ua.want_registered:
            return
        self.refreshes += 1
        ua.log(f"registration refresh {self.refreshes} (RFC 3261 §10.2.4)")
        ua.register()

    def cancel_refresh(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            self._refresh = None

    @staticmethod
    def challenge(response: SipMessage) -> Challenge | None:
        """The Digest challenge of a 401/407, None for another scheme or none."""
        name = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        try:
            challenge = parse_challenge(response.header(name) or "")
        except SipParseError:
            return None
        return challenge if challenge.scheme.lower() == "digest" else None

    def authorization(self, response: SipMessage, challenge: Challenge) -> tuple[str, str]:
        """RFC 3261 §22.2: answer a Digest challenge (RFC 7616: its algorithm) with the
        profile's credentials. The fault `digest_wrong_response` hashes a SHA-256 challenge's
        answer with MD5 (and names it SHA-256): a wrong response."""
        profile = self.ua.profile
        algorithm = challenge.param("algorithm") or "MD5"
        offered = [q.strip() for q in (challenge.param("qop") or "").split(",") if q.strip()]
        # fault digest_invite_on_second_refresh: the 2nd refresh's response hashed for the wrong method
        wrong = self.refreshes == 2 and "digest_invite_on_second_refresh" in self.ua.faults
        value = build_digest_authorization(
            username=profile.impi,
            realm=challenge.param("realm") or profile.domain,
            password=profile.password,
            method="INVITE" if wrong else "REGISTER",
            uri=f"sip:{profile.domain}",
            nonce=challenge.param("nonce") or "",
            qop="auth" if "auth" in offered else None,
            algorithm="MD5" if "digest_wrong_response" in self.ua.faults else algorithm,
            opaque=challenge.param("opaque"),
        )
        if "digest_wrong_response" in self.ua.faults:
            value = value.replace("algorithm=MD5", f"algorithm={algorithm}")
        return ("Authorization" if response.status == 401 else "Proxy-Authorization", value)
