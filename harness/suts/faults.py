"""Fault switches of the built-in reference SUTs (the harness's self-test, docs/architecture.md).

A reference SUT conforms; each switch, set from the profile (`faults: [name, ...]`), makes
it break exactly the requirements listed in `breaks`. The harness's own tests run the
role's suite with each switch alone and assert that exactly those ids come out FAIL.
An empty `breaks` marks a deviation wicct must grade as NON-STRICT, not as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Fault:
    name: str
    role: str  # "wic" or "epcscf"
    breaks: tuple[str, ...]
    description: str
    # features the reference SUT's profile must claim for the switch to matter: the suite
    # self-test runs it against the built-in profile that claims them (web-credentials:
    # reference-wic-bearer, reference-epcscf-tna); () is the role's default reference profile
    needs: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "role": self.role,
            "breaks": list(self.breaks),
            "description": self.description,
            "needs": list(self.needs),
        }


def _f(name: str, role: str, breaks: tuple[str, ...], description: str, needs: tuple[str, ...] = ()) -> Fault:
    return Fault(name=name, role=role, breaks=breaks, description=description, needs=needs)


WEB = ("web-credentials",)  # the token path runs only with web credentials (a TNA profile)

FAULTS: tuple[Fault, ...] = (
    # --- reference eP-CSCF -------------------------------------------------------
    _f("accept_any_origin", "epcscf", ("EPC-ORIGIN-02",),
       "accepts the WebSocket handshake whatever the Origin (no allow-list)"),
    _f("no_subprotocol_check", "epcscf", ("EPC-HS-02",),
       "accepts a handshake that does not offer the 'sip' subprotocol"),
    _f("no_426", "epcscf", ("EPC-HS-03",),
       "answers an unsupported Sec-WebSocket-Version with 400 instead of 426"),
    _f("no_pong", "epcscf", ("BOTH-KA-01", "BOTH-FR-05"),
       "never answers a WebSocket Ping"),
    _f("binary_ignored", "epcscf", ("BOTH-FR-04",),
       "silently drops SIP carried in binary frames"),
    _f("process_excess", "epcscf", ("BOTH-FR-06",),
       "treats bytes after a SIP message in the same WebSocket message as a second message"),
    _f("ignore_content_length", "epcscf", ("BOTH-FR-07",),
       "processes a request whose Content-Length exceeds its body instead of answering 400"),
    _f("wrong_close_codes", "epcscf", ("EPC-FR-08", "BOTH-FR-09"),
       "fails a broken WebSocket connection with Close 1000 instead of 1002/1007"),
    _f("reject_lowercase_via", "epcscf", ("EPC-TP-02",),
       "answers 400 to a Via with the transport token in lower case"),
    _f("rewrite_sent_by", "epcscf", ("EPC-TP-01",),
       "rewrites the top Via sent-by of responses sent back to the WIC"),
    _f("retransmit_over_ws", "epcscf", ("BOTH-TP-04",),
       "retransmits requests sent over the WebSocket as if it were UDP"),
    _f("resend_bye_200", "epcscf", ("BOTH-TP-04",),
       "relays the 200 to a WIC's BYE twice over the WebSocket (one BYE, two final responses)"),
    _f("no_crlf_pong", "epcscf", ("BOTH-KA-02",),
       "does not answer a CRLFCRLF keep-alive with CRLF"),
    _f("close_after_bye", "epcscf", ("EPC-KA-04",),
       "closes the WebSocket once a call is released"),
    _f("no_close_echo", "epcscf", ("BOTH-KA-05",),
       "drops TCP on a Close frame without echoing it"),
    _f("wrong_accept_on_reconnect", "epcscf", ("EPC-HS-01",),
       "keeps its first Sec-WebSocket-Accept in a static buffer: every later 101 carries it"),
    _f("trusted_origins_last_wins", "epcscf", ("EPC-ORIGIN-01",),
       "reads its Origin allow-list as one setting: only the last trusted origin is accepted"),
    _f("origin_prefix_match", "epcscf", ("EPC-ORIGIN-02",),
       "trusts any Origin that starts with a trusted origin (look-alike host, userinfo, port)"),
    _f("origin_suffix_match", "epcscf", ("EPC-ORIGIN-02",),
       "trusts any Origin that ends with a trusted host, without a dot boundary or scheme"),
    _f("origin_reads_last", "epcscf", ("EPC-ORIGIN-02",),
       "reads the last of several Origin headers instead of refusing them"),
    _f("close_5s_after_release", "epcscf", ("EPC-KA-04",),
       "closes the WebSocket 5 s after a call is released (an idle timer)"),
    _f("close_before_bye_answer", "epcscf", ("EPC-KA-04",),
       "closes the WebSocket right after relaying the WIC's BYE, before the 200 comes back"),
    _f("retransmit_own_t1", "epcscf", ("BOTH-TP-04",),
       "retransmits requests over the WebSocket on a hard-coded T1 of 500 ms, as if UDP"),
    _f("no_impu_binding", "epcscf", ("EPC-REG-04",),
       "does not bind the registered IMPU to the WebSocket it registered over: a request over "
       "another WebSocket asserting it is relayed to the core"),
    _f("rewrite_sent_by_after_register", "epcscf", ("EPC-TP-01",),
       "keeps the Via sent-by in REGISTER responses, rewrites it in those of later requests"),
    _f("integrity_protected_no", "epcscf", ("EPC-REG-01",),
       "forwards the first digest REGISTER with integrity-protected=\"no\" (as for IMS AKA)"),
    _f("integrity_on_first_register", "epcscf", ("EPC-REG-01",),
       "marks the first digest REGISTER integrity-protected already, with the challenge response's value"),
    _f("no_tls_pending", "epcscf", ("EPC-REG-01",),
       "forwards the REGISTER answering the digest challenge without integrity-protected"),
    _f("no_tls_yes", "epcscf", ("EPC-REG-01",),
       "never binds the session: later REGISTERs keep the challenge response's integrity-protected value"),
    _f("no_path_on_register", "epcscf", ("EPC-REG-01",),
       "forwards REGISTER without a Path header (RFC 3327); routes back by the registered Contact"),
    _f("bundle_to_core", "epcscf", ("EPC-SES-01",),
       "its eIMS-AGW lets the WIC's a=group:BUNDLE and a=bundle-only through to the core"),
    _f("terminating_new_connection", "epcscf", ("EPC-TP-03",),
       "sends a terminating request over the WIC's newest WebSocket, not the one its REGISTER used"),
    _f("replace_contact", "epcscf", ("EPC-SES-02",),
       "replaces the WIC's Contact in a dialog-creating request towards the core with its own "
       "URI for the WebSocket flow (a proxy keeps the UA's Contact, RFC 3261 §16.6)"),
    _f("record_route_without_ws", "epcscf", ("EPC-TP-03",),
       "Record-Routes a terminating INVITE towards the WIC without transport=ws"),
    # --- seeded-defect audit: one message kind, one method, the Nth time ------------
    _f("binary_responses_ignored", "epcscf", ("BOTH-FR-04",),
       "processes SIP requests in binary frames but drops SIP responses carried in them"),
    _f("reject_lowercase_via_after_register", "epcscf", ("EPC-TP-02",),
       "accepts a lower-case Via transport on REGISTER only; answers 400 to it on other methods"),
    _f("rewrite_sent_by_on_invite", "epcscf", ("EPC-TP-01",),
       "rewrites the top Via sent-by of responses to INVITE only (REGISTER, OPTIONS kept)"),
    _f("close_after_second_release", "epcscf", ("EPC-KA-04",),
       "closes the WebSocket once the second call over it is released (a per-flow counter)"),
    _f("no_426_version_header", "epcscf", ("EPC-HS-03",),
       "answers an unsupported Sec-WebSocket-Version with 426 but without Sec-WebSocket-Version: 13"),
    _f("crlf_ping_echoed", "epcscf", ("BOTH-KA-02",),
       "answers a CRLFCRLF keep-alive with CRLFCRLF (its echo) instead of a single CRLF"),
    # --- seeded-defect audit, round 3: one method, one leg, the Nth time, after an event --
    _f("reject_lowercase_via_on_message", "epcscf", ("EPC-TP-02",),
       "answers 400 to a lower-case Via transport on MESSAGE only (REGISTER, OPTIONS, INVITE kept)"),
    _f("path_on_first_register_only", "epcscf", ("EPC-REG-01",),
       "adds Path to the first REGISTER over a WebSocket only, not to its re-REGISTERs"),
    _f("in_dialog_new_connection", "epcscf", ("EPC-TP-03",),
       "sends the core's mid-dialog requests (BYE, re-INVITE) over the WIC's newest WebSocket, "
       "not the one its REGISTER used (dialog-creating ones kept)"),
    _f("record_route_ws_first_only", "epcscf", ("EPC-TP-03",),
       "Record-Routes its first terminating INVITE with transport=ws, later ones without"),
    _f("retransmit_bye_to_wic", "epcscf", ("BOTH-TP-04",),
       "retransmits the core's BYE over the WebSocket as if UDP (other requests kept)"),
    _f("rewrite_sent_by_on_message", "epcscf", ("EPC-TP-01",),
       "rewrites the top Via sent-by of responses to MESSAGE only"),
    _f("close_after_failed_call", "epcscf", ("EPC-KA-04",),
       "closes the WebSocket once a call fails (a 4xx-6xx final response to its INVITE relayed)"),
    _f("close_after_cancel", "epcscf", ("EPC-KA-04",),
       "closes the WebSocket once it relays the 200 to a WIC's CANCEL (a cancelled call)"),
    _f("cancel_new_branch", "epcscf", ("EPC-SES-02",),
       "forwards a WIC's CANCEL to the core in a new branch, not the INVITE's (RFC 3261 §16.10)"),
    _f("cancel_route_added", "epcscf", ("EPC-SES-02",),
       "forwards the WIC's CANCEL to the core with a Route naming the core, which the INVITE "
       "it cancels did not carry (the core still matches it by its branch)"),
    _f("large_body_cut", "epcscf", ("BOTH-FR-05",),
       "cuts the body of a WebSocket message over 4 KiB from the WIC to fit 4 KiB (Content-Length "
       "made to match) before relaying it"),
    _f("reject_lowercase_via_after_reconnect", "epcscf", ("EPC-TP-02",),
       "answers 400 to a Via with the transport token in lower case on any WebSocket but the "
       "first the SUT accepted (after the WIC reconnects)"),
    _f("no_via_mid_dialog_to_wic", "epcscf", ("EPC-SES-02",),
       "relays a mid-dialog request from the core (a BYE) to the WIC without adding its own Via "
       "(the WIC's answer then matches no transaction and is dropped)"),
    _f("max_forwards_kept_on_invite", "epcscf", ("EPC-SES-02",),
       "relays the WIC's INVITE to the core without decrementing Max-Forwards (other methods "
       "decremented)"),
    _f("resend_third_final", "epcscf", ("BOTH-TP-04",),
       "relays the third final response of a method on a WebSocket (not a 2xx to INVITE) to the "
       "WIC twice"),
    _f("no_pong_after_register", "epcscf", ("BOTH-KA-01", "BOTH-FR-05"),
       "answers Pings until the WIC sends a REGISTER over the WebSocket, never after"),
    _f("keep_wic_integrity_when_bound", "epcscf", ("EPC-REG-07",),
       "digest: once a WebSocket's registration is bound, forwards a REGISTER's Authorization with "
       "the integrity-protected the WIC wrote itself unchanged"),
    _f("long_form_headers_only", "epcscf", ("EPC-TP-02",),
       "answers 400 to a request that writes a header in its compact form (v:, f:, t:, i:, m:, k:)"),
    _f("rewrite_sent_by_compact_via", "epcscf", ("EPC-TP-01",),
       "rewrites the top Via sent-by of responses to requests whose Via is written compact (v:)"),
    _f("rewrite_sent_by_on_cancel", "epcscf", ("EPC-TP-01",),
       "rewrites the top Via sent-by of responses to CANCEL and of the 487 to the cancelled INVITE"),
    # --- reference eP-CSCF as a TNA eP-CSCF (profile reference-epcscf-tna) ---------
    _f("tna_forward_bearer", "epcscf", ("EPC-REG-02",),
       "TNA: forwards the WIC's Authorization: Bearer (the token) to the core next to the TNA header",
       needs=WEB),
    _f("tna_integrity_yes", "epcscf", ("EPC-REG-02",),
       'TNA: writes integrity-protected="yes" (the IMS AKA value) instead of "auth-done"',
       needs=WEB),
    _f("tna_accept_expired", "epcscf", ("EPC-REG-05",),
       "TNA: validates tokens with the issuer's JWKS but never checks exp",
       needs=WEB),
    _f("tna_skip_signature_check", "epcscf", ("EPC-REG-05",),
       "TNA: reads the token's claims without verifying its signature",
       needs=WEB),
    _f("tna_keep_state", "epcscf", ("EPC-REG-06",),
       "TNA: keeps the last IMPI between messages (a Kamailio $var): a token without IMPI goes "
       "through as the previous user",
       needs=WEB),
    _f("tna_accept_missing_authorization", "epcscf", ("EPC-REG-06",),
       "TNA: forwards a REGISTER without Authorization as the user in its To header",
       needs=WEB),
    _f("tna_pass_forged_integrity", "epcscf", ("EPC-REG-07",),
       "TNA: trusts and forwards the WIC's own Authorization: Digest with integrity-protected",
       needs=WEB),
    _f("tna_joined_first_credentials", "epcscf", ("EPC-REG-06",),
       "reads one Authorization row holding two comma-joined credentials as its first "
       "(two rows are still refused)", WEB),
    _f("tna_omit_wwsf_identity", "epcscf", ("EPC-REG-03",),
       "TNA: accepts a token from a WWSF outside the operator domain but does not say so to the core",
       needs=WEB),
    _f("tna_pass_organization", "epcscf", ("EPC-SES-03",),
       "TNA: passes an Organization the WIC wrote itself through unchecked (adds the WWSF identity "
       "only when there is none)", needs=WEB),
    # --- reference WIC -----------------------------------------------------------
    _f("no_origin", "wic", ("WIC-HS-02",),
       "sends no Origin header in the opening handshake"),
    _f("no_sip_subprotocol", "wic", ("WIC-HS-01",),
       "does not offer the 'sip' subprotocol"),
    _f("accept_any_certificate", "wic", ("WIC-HS-03",),
       "does not verify the eP-CSCF certificate"),
    _f("two_messages_one_frame", "wic", ("WIC-FR-01",),
       "packs the next SIP message into the same WebSocket message as a CRLF-joined pair"),
    _f("split_message", "wic", ("WIC-FR-01",),
       "sends each SIP request over two WebSocket messages"),
    _f("via_transport_tcp", "wic", ("WIC-TP-01",),
       "writes SIP/2.0/TCP as the Via transport"),
    _f("contact_transport_tcp", "wic", ("WIC-TP-02",),
       "writes transport=tcp in the Contact URI"),
    _f("contact_transport_wss", "wic", (),
       "writes transport=wss in the Contact URI (NON-STRICT, not a failure)"),
    _f("drop_responses_without_received", "wic", ("WIC-TP-03",),
       "ignores responses whose top Via has no 'received' parameter"),
    _f("retransmit_over_ws", "wic", ("BOTH-TP-04",),
       "retransmits unanswered requests over the WebSocket as if it were UDP"),
    _f("resend_bye_200", "wic", ("BOTH-TP-04",),
       "sends its 200 to a BYE twice over the WebSocket (one BYE, two final responses)"),
    _f("no_pong", "wic", ("BOTH-KA-01", "BOTH-FR-05"),
       "never answers a WebSocket Ping"),
    _f("binary_ignored", "wic", ("BOTH-FR-04",),
       "silently drops SIP carried in binary frames"),
    _f("process_excess", "wic", ("BOTH-FR-06",),
       "treats bytes after a SIP message in the same WebSocket message as a second message"),
    _f("ignore_content_length", "wic", ("BOTH-FR-07",),
       "processes a request whose Content-Length exceeds its body instead of answering 400"),
    _f("wrong_close_codes", "wic", ("BOTH-FR-09",),
       "fails the connection on invalid UTF-8 with Close 1000 instead of 1007"),
    _f("no_crlf_pong", "wic", ("BOTH-KA-02",),
       "does not answer a CRLFCRLF keep-alive with CRLF"),
    _f("close_after_bye", "wic", ("WIC-KA-04",),
       "closes the WebSocket once a call is released"),
    _f("no_close_echo", "wic", ("BOTH-KA-05",),
       "drops TCP on a Close frame without echoing it"),
    _f("unmasked_on_reconnect", "wic", ("WIC-FR-02",),
       "masks its frames on the first connection, stops masking on a reconnect"),
    _f("latin1_subject_on_invite", "wic", ("WIC-FR-03",),
       "puts a Latin-1 'Subject: Appel vidéo' in its INVITEs and sends them as text frames"),
    _f("bad_key_on_reconnect", "wic", ("WIC-HS-01",),
       "on a reconnect, sends a Sec-WebSocket-Key of 12 random octets (16 base64 characters)"),
    _f("origin_on_reconnect", "wic", ("WIC-HS-02",),
       "on a reconnect, sends the page URL with its trailing slash as the Origin"),
    _f("close_5s_after_release", "wic", ("WIC-KA-04",),
       "drops its WebSocket 5 s after a call is released (an idle timer)"),
    _f("close_before_bye_answer", "wic", ("WIC-KA-04",),
       "closes the WebSocket on receiving a BYE, before sending the 200"),
    _f("retransmit_own_t1", "wic", ("BOTH-TP-04",),
       "retransmits unanswered requests on a hard-coded T1 of 500 ms, as if UDP"),
    _f("via_tcp_on_invite", "wic", ("WIC-TP-01",),
       "writes SIP/2.0/TCP as the Via transport of dialog requests (INVITE, ACK, BYE) only"),
    _f("contact_tcp_on_invite", "wic", ("WIC-TP-02",),
       "writes transport=tcp in the Contact of INVITEs and their answers only, not REGISTER"),
    _f("digest_wrong_response", "wic", ("WIC-REG-01",),
       "answers a SHA-256 Digest challenge with a response hashed with MD5 (MD5 ones right)"),
    _f("new_call_id_after_401", "wic", ("WIC-REG-01",),
       "sends the REGISTER that answers a Digest challenge with a new Call-ID"),
    _f("no_initial_authorization", "wic", ("WIC-REG-01",),
       "sends its initial REGISTER without Authorization (a should-level FAIL)"),
    _f("ignore_stale", "wic", ("WIC-REG-01",),
       "gives up registering on a 401 with stale=true instead of retrying with the new nonce"),
    _f("bearer_register_only", "wic", ("WIC-REG-02",),
       "sends its Bearer token on REGISTER only, not on INVITE, ACK or BYE",
       ("web-credentials",)),
    _f("bearer_no_scheme", "wic", ("WIC-REG-02",),
       "puts the bare token in Authorization, without the Bearer scheme",
       ("web-credentials",)),
    _f("bearer_access_token_form", "wic", (),
       "sends Authorization: Bearer access_token=\"...\" (NON-STRICT, not a failure)",
       ("web-credentials",)),    # --- reference WIC: its SDP in calls (WIC-SES-01..03) -------------------------
    _f("sdes_crypto_offer", "wic", ("WIC-SES-01",),
       "offers an SDES a=crypto key beside the DTLS fingerprint in every m= section"),
    _f("answer_reordered_m_lines", "wic", ("WIC-SES-02", "WIC-SES-03"),
       "answers an offer of several m= sections with them in reverse order"),
    _f("no_180", "wic", ("WIC-SES-02",),
       "answers an incoming INVITE with 200 and no 180 Ringing before it"),
    _f("answer_keeps_actpass", "wic", ("WIC-SES-02", "WIC-SES-03"),
       "answers with a=setup:actpass (the offerer's value) instead of active or passive"),
    _f("no_fingerprint", "wic", ("WIC-SES-01", "WIC-SES-02", "WIC-SES-03"),
       "sends its offers and answers without a=fingerprint"),
    _f("binary_responses_ignored", "wic", ("BOTH-FR-04",),
       "processes SIP requests in binary frames but drops SIP responses carried in them"),
    _f("close_after_second_release", "wic", ("WIC-KA-04",),
       "closes the WebSocket once its second call is released (a per-session counter)"),
    _f("accept_any_certificate_on_reconnect", "wic", ("WIC-HS-03",),
       "verifies the eP-CSCF certificate on its first connection only, not when it reconnects"),
    _f("crlf_ping_echoed", "wic", ("BOTH-KA-02",),
       "answers a CRLFCRLF keep-alive with CRLFCRLF (its echo) instead of a single CRLF"),
    _f("same_cseq_after_401", "wic", ("WIC-REG-01",),
       "sends the REGISTER that answers a Digest challenge with the challenged REGISTER's CSeq"),
    _f("answer_short_ice_pwd_video", "wic", ("WIC-SES-02", "WIC-SES-03"),
       "answers with a 21-character ice-pwd in every m= section but the first (RFC 8839 §5.4: 22-256)"),
    _f("zero_masking_key", "wic", ("WIC-FR-02",),
       "sets the MASK bit on every frame but always with the masking key 0 (no fresh key)"),
    _f("close_after_cancel", "wic", ("WIC-KA-04",),
       "closes the WebSocket once an incoming call is cancelled (CANCEL, 487), not after a BYE"),
    _f("bundle_only_m_line", "wic", ("WIC-SES-01",),
       "offers audio and video with the video m= section bundle-only (port 0; a should-level FAIL)"),
    # --- reference WIC: audit round 3 (later occurrences, odd spellings) --------------
    _f("retransmit_mangled", "wic", ("BOTH-TP-04", "WIC-FR-01"),
       "retransmits unanswered requests over the WebSocket with a Content-Length 4 larger than "
       "the body (copies that do not parse: each is also not one whole SIP message)"),
    _f("via_tcp_on_reregister", "wic", ("WIC-TP-01",),
       "writes SIP/2.0/TCP as the Via transport of every REGISTER after its first 200 (re-registration)"),
    _f("contact_tcp_on_reregister", "wic", ("WIC-TP-02",),
       "writes transport=tcp in the Contact of every REGISTER after its first 200 (re-registration)"),
    _f("via_lowercase_tcp", "wic", ("WIC-TP-01",),
       "writes SIP/2.0/tcp (lower case) as the Via transport"),
    _f("contact_transport_upper_tcp", "wic", ("WIC-TP-02",),
       "writes transport=TCP (upper case) in the Contact URI"),
    _f("compact_via_tcp", "wic", ("WIC-TP-01",),
       "writes the Via of its REGISTERs in the compact form 'v:' with the transport TCP"),
    _f("crlf_pong_first_only", "wic", ("BOTH-KA-02",),
       "answers only the first CRLFCRLF keep-alive on a connection with CRLF, later ones not at all"),
    _f("resend_message_200", "wic", ("BOTH-TP-04",),
       "sends its 200 to a MESSAGE twice over the WebSocket (BOTH-FR-07's answered-once step "
       "sends a control MESSAGE, copied too: INCONCLUSIVE there, not a second processing)"),
    _f("via_tcp_on_bye", "wic", ("WIC-TP-01",),
       "writes SIP/2.0/TCP as the Via transport of its BYE only"),
    _f("contact_tcp_on_answer", "wic", ("WIC-TP-02",),
       "writes transport=tcp in the Contact of the 200 that answers an incoming INVITE only"),
    _f("bearer_one_byte_off_on_bye", "wic", ("WIC-REG-02",),
       "sends its Bearer token with the last character changed on BYE only", WEB),
    _f("no_180_on_second_call", "wic", ("WIC-SES-02",),
       "alerts (180) on its first incoming call only: the second is answered 200 with no 180"),
    _f("pong_truncated_long", "wic", ("BOTH-KA-01",),
       "answers a Ping whose payload is longer than 100 bytes with a Pong of its first 100 only"),
    # --- reference WIC: audit round 4 (in-dialog requests from the network, late events) --
    _f("split_in_dialog_200", "wic", ("WIC-FR-01",),
       "sends its 200 to a MESSAGE or INFO inside a call over two WebSocket messages"),
    _f("resend_in_dialog_200", "wic", ("BOTH-TP-04",),
       "sends its 200 to a MESSAGE or INFO inside a call twice over the WebSocket"),
    _f("close_on_in_dialog_message", "wic", ("WIC-KA-04",),
       "closes the WebSocket after answering a MESSAGE inside a call"),
    _f("contact_tcp_on_second_reinvite", "wic", ("WIC-TP-02",),
       "writes transport=tcp in the Contact of its 200 to the second (and later) re-INVITE of a session"),
    _f("via_tcp_on_second_refresh", "wic", ("WIC-TP-01",),
       "writes SIP/2.0/TCP as the Via transport of its second registration refresh only"),
    _f("bearer_one_byte_off_on_second_refresh", "wic", ("WIC-REG-02",),
       "sends its Bearer token with the last character changed on its second registration refresh only",
       WEB),
    _f("crlf_pong_first_seconds", "wic", ("BOTH-KA-02",),
       "answers CRLFCRLF keep-alives only in the first 2 s of a connection (an app whose keep-alive "
       "handler goes away), later ones not at all"),
    _f("excess_redispatched", "wic", ("BOTH-FR-06", "BOTH-FR-07", "BOTH-TP-04"),
       "hands a request followed by excess bytes in its WebSocket message up twice: its transaction "
       "repeats the 200 byte for byte (a second processing; on the wire also a copy, BOTH-TP-04)"),
    _f("digest_invite_on_second_refresh", "wic", ("WIC-REG-01",),
       "answers the Digest challenge of its second registration refresh with a response hashed for "
       "INVITE instead of REGISTER"),
    _f("retransmit_bye_over_ws", "wic", ("BOTH-TP-04",),
       "retransmits an unanswered BYE over the WebSocket on Timer E as if UDP (other requests not)"),
)


def for_role(role: str) -> dict[str, Fault]:
    """The switches of one role's reference SUT, by name."""
    return {f.name: f for f in FAULTS if f.role == role}


def unknown(role: str, names: tuple[str, ...] | list[str]) -> list[str]:
    """Names in a profile's `faults` that the role's reference SUT does not have."""
    known = for_role(role)
    return [n for n in names if n not in known]
