"""Kamailio's config with media at the edge (WITH_RTPENGINE) and rtpengine's command line,
rendered without running either (issue 9, item 4); the core's plain RTP answer."""

from __future__ import annotations

import pytest

from harness.sdp.plain import is_plain, plain_answer, plain_media
from harness.suts.kamailio.config import ConfigError, EpcscfConfig, render_cfg
from harness.suts.kamailio.rtpengine import PORTS, RtpengineSettings, port_window

BASE = dict(host="127.0.0.1", wss_port=5061, sip_port=5060, core_host="127.0.0.1", core_port=5070)


def test_rtpengine_block_only_with_an_ng_port() -> None:
    edge = render_cfg(EpcscfConfig(**BASE, rtpengine_port=22222))
    assert "#!define WITH_RTPENGINE" in edge
    assert 'modparam("rtpengine", "rtpengine_sock", "udp:127.0.0.1:22222")' in edge
    assert 'rtpengine_offer("RTP/AVP ICE=remove rtcp-mux-demux DTLS=off SDES-off' in edge
    assert 'rtpengine_answer("UDP/TLS/RTP/SAVPF ICE=force rtcp-mux-require")' in edge
    # terminating calls: the core's plain offer becomes WebRTC towards the WIC, and back
    assert 'rtpengine_offer("UDP/TLS/RTP/SAVPF ICE=force rtcp-mux-require generate-mid' in edge
    assert 'rtpengine_answer("RTP/AVP ICE=remove rtcp-mux-demux DTLS=off SDES-off' in edge
    from_core = edge.split("route[FROM_CORE]", 1)[1].split("\n}", 1)[0]
    assert "route(EDGE_TERMINATING_OFFER);" in from_core
    from_wic_reply = edge.split("onreply_route[FROM_WIC_REPLY]", 1)[1].split("\n}", 1)[0]
    assert "route(EDGE_TERMINATING_ANSWER);" in from_wic_reply
    plain = render_cfg(EpcscfConfig(**BASE))
    assert "#!define WITH_RTPENGINE" not in plain


def test_rtpengine_port_out_of_range_is_refused() -> None:
    with pytest.raises(ConfigError, match="rtpengine_port"):
        EpcscfConfig(**BASE, rtpengine_port=70000)


def test_rtpengine_runs_in_user_space_on_loopback_without_its_config_file() -> None:
    argv = RtpengineSettings("/usr/bin/rtpengine", 2223, 30000, 30099).argv()
    for flag in ("--config-file=none", "--table=-1", "--interface=127.0.0.1", "--listen-ng=127.0.0.1:2223",
                 "--port-min=30000", "--port-max=30099", "--foreground", "--delete-delay=0"):
        assert flag in argv


def test_port_windows_stay_in_range_and_differ() -> None:
    windows = {port_window(p) for p in range(40000, 40010)}
    assert len(windows) == 10
    assert all(high - low + 1 == PORTS and low > 1024 and high < 65536 for low, high in windows)


OFFER = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 30000 RTP/AVP 96 0\r\na=rtpmap:96 opus/48000/2\r\na=rtcp:30001\r\n"
    "m=video 30002 RTP/AVP 97\r\na=rtpmap:97 VP8/90000\r\n"
)


def test_plain_answer_keeps_kinds_order_and_protocol_on_the_cores_ports() -> None:
    assert is_plain(OFFER)
    assert not is_plain(OFFER.replace("RTP/AVP", "UDP/TLS/RTP/SAVPF"))
    answer = plain_answer(OFFER, "127.0.0.1", [40000, 40002], 7)
    assert plain_media(answer) == [("audio", "RTP/AVP", "96"), ("video", "RTP/AVP", "97")]
    assert "m=audio 40000 RTP/AVP 96" in answer and "a=rtpmap:96 opus/48000/2" in answer
    assert "m=video 40002 RTP/AVP 97" in answer and "BUNDLE" not in answer
