#!/usr/bin/env python3
"""Capture real SDP offers and answers into tests/corpus/sdp/captured/ (Chromium, aiortc, rtpengine).

    .venv/bin/python scripts/capture-sdp.py [OUT_DIR]

Chromium is Debian's, launched by Playwright with the browser driver's flags (fake media
devices, never a downloaded browser); the page is served from http://127.0.0.1 (a secure
context, so getUserMedia works) by Playwright's request routing, no server. Each Chromium
peer takes fake microphone (and camera) tracks with addTrack, as JsSIP does, and waits for
ICE gathering to complete before its SDP is read (JsSIP sends the local description once
gathering is over). aiortc offers and answers come from harness/sdp/jsep.py, wicct's own
media peer. Pairs are crossed, so each answer answers the other implementation's offer:

    offer-chromium-K.sdp  -> answer-aiortc-to-chromium-K.sdp
    offer-aiortc-K.sdp    -> answer-chromium-to-aiortc-K.sdp      (K = audio, audio-video)

IMS-style offers come from rtpengine (Debian's `rtpengine-daemon`, the media gateway a
Kamailio eP-CSCF drives), run here as a child in user space and driven over its ng control
protocol with the flags of an eIMS-AGW. Skipped when rtpengine is not installed:

    ims-offer-core-K.sdp      Chromium's offer as the IMS core gets it (RTP/AVP, a=rtcp:, no
                              BUNDLE, ICE, DTLS or rtcp-mux)
    ims-offer-wic-nomux-K.sdp that offer turned back towards a WIC (DTLS-SRTP, ICE, no BUNDLE,
                              a=rtcp: on its own port, no rtcp-mux)
    ims-offer-wic-sdes-K.sdp  the same with rtpengine's default SDES left on (a=crypto lines)
    ims-offer-wic-mux-K.sdp   the same offering rtcp-mux beside a=rtcp:
    answer-{chromium,aiortc}-to-ims-wic-mux-K.sdp   the two peers' answers to it
Chromium and aiortc refuse the no-mux offer; the script prints what they say. The seeded
defects are not regenerated here (tests/corpus/sdp/README.md).

The files are written byte for byte as the peer produced them (CRLF line ends).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.async_api import Page, Route, async_playwright

from harness.sdp.jsep import MediaPeer, make_answer, make_offer
from harness.suts.browser.driver import CHROMIUM, CHROMIUM_FLAGS

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "http://127.0.0.1:8000"
KINDS = {"audio": ("audio",), "audio-video": ("audio", "video")}

PAGE = """<!doctype html><meta charset="utf-8"><title>SDP capture</title><script>
async function tracks(kinds) {
  const stream = await navigator.mediaDevices.getUserMedia(
    {audio: kinds.includes("audio"), video: kinds.includes("video")});
  return [stream, stream.getTracks()];
}
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
    setTimeout(resolve, 5000);
  });
}
async function offer(kinds) {
  const [stream, all] = await tracks(kinds);
  const pc = new RTCPeerConnection({iceServers: []});
  all.forEach((t) => pc.addTrack(t, stream));
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  return pc.localDescription.sdp;
}
async function answer(kinds, sdp) {
  const [stream, all] = await tracks(kinds);
  const pc = new RTCPeerConnection({iceServers: []});
  await pc.setRemoteDescription({type: "offer", sdp});
  all.forEach((t) => pc.addTrack(t, stream));
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered(pc);
  return pc.localDescription.sdp;
}
</script>"""


async def _serve(route: Route) -> None:
    await route.fulfill(status=200, content_type="text/html", body=PAGE)


def _write(out: Path, name: str, sdp: str) -> None:
    path = out / name
    path.write_bytes(sdp.encode())
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
          f"{len(sdp.splitlines())} lines")


async def _capture_pairs(page: Page, out: Path) -> None:
    for name, kinds in KINDS.items():
        chromium_offer: str = await page.evaluate("(k) => offer(k)", list(kinds))
        _write(out, f"offer-chromium-{name}.sdp", chromium_offer)
        answerer = await make_answer(chromium_offer)
        _write(out, f"answer-aiortc-to-chromium-{name}.sdp", answerer.sdp)

        offerer: MediaPeer = await make_offer(kinds)
        _write(out, f"offer-aiortc-{name}.sdp", offerer.sdp)
        chromium_answer: str = await page.evaluate(
            "([k, sdp]) => answer(k, sdp)", [list(kinds), offerer.sdp]
        )
        _write(out, f"answer-chromium-to-aiortc-{name}.sdp", chromium_answer)
        for peer in (answerer, offerer):
            await peer.close()


# --- rtpengine as the eIMS-AGW ------------------------------------------------------------

NG_PORT = 22299
RTPENGINE = ("rtpengine", "--config-file=none", "--table=-1", "--interface=127.0.0.1",
             f"--listen-ng=127.0.0.1:{NG_PORT}", "--port-min=30000", "--port-max=30100",
             "--delete-delay=0", "--foreground", "--log-stderr")
# the offer flags of Kamailio's rtpengine_offer() at the IMS edge, both ways
TOWARDS_CORE = {"transport-protocol": "RTP/AVP", "ICE": "remove", "rtcp-mux": ["demux"],
                "DTLS": "off", "SDES": ["off"]}
TOWARDS_WIC = {"transport-protocol": "UDP/TLS/RTP/SAVPF", "ICE": "force"}


def _bencode(value: object) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(map(_bencode, value)) + b"e"
    if isinstance(value, dict):
        return b"d" + b"".join(_bencode(k) + _bencode(v) for k, v in sorted(value.items())) + b"e"
    raise TypeError(value)


def _ng_sdp(reply: bytes) -> str:
    """The `sdp` string of an ng reply (a bencoded dictionary), or its error reason."""
    for key in (b"3:sdp", b"12:error-reason"):
        at = reply.find(key)
        if at >= 0:
            start = at + len(key)
            colon = reply.index(b":", start)
            text = reply[colon + 1 : colon + 1 + int(reply[start:colon])].decode()
            if key == b"3:sdp":
                return text
            raise RuntimeError(f"rtpengine: {text}")
    raise RuntimeError(f"rtpengine: no sdp in {reply[:200]!r}")


def _ng_offer(call: str, sdp: str, flags: dict[str, object]) -> str:
    message = {"command": "offer", "call-id": call, "from-tag": f"{call}-from", "sdp": sdp,
               "replace": ["origin", "session-connection"], **flags}
    cookie = os.urandom(4).hex().encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        for _ in range(20):  # rtpengine answers its first ping some 60 ms after launch
            sock.sendto(cookie + b" " + _bencode(message), ("127.0.0.1", NG_PORT))
            try:
                return _ng_sdp(sock.recv(65535).split(b" ", 1)[1])
            except TimeoutError:
                continue
    raise RuntimeError("rtpengine never answered")


async def _try_answer(page: Page, kinds: tuple[str, ...], sdp: str) -> str | None:
    try:
        chromium: str = await page.evaluate("([k, sdp]) => answer(k, sdp)", [list(kinds), sdp])
        return chromium
    except Exception as exc:  # the browser's refusal is the measurement
        print(f"  chromium refuses: {str(exc).splitlines()[0]}")
        return None


async def _aiortc_answer(sdp: str) -> str | None:
    try:
        peer = await make_answer(sdp)
    except Exception as exc:
        print(f"  aiortc refuses: {exc!r}")
        return None
    await peer.close()
    return peer.sdp


async def _capture_ims(page: Page, out: Path) -> None:
    if shutil.which("rtpengine") is None:
        print("rtpengine not installed: IMS-style offers not captured")
        return
    daemon = subprocess.Popen(RTPENGINE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.2)
        for name, kinds in KINDS.items():
            browser_offer: str = await page.evaluate("(k) => offer(k)", list(kinds))
            core = _ng_offer(f"core-{name}", browser_offer, TOWARDS_CORE)
            _write(out, f"ims-offer-core-{name}.sdp", core)
            variants = {"nomux": {**TOWARDS_WIC, "SDES": ["off"]}, "sdes": TOWARDS_WIC,
                        "mux": {**TOWARDS_WIC, "SDES": ["off"], "rtcp-mux": ["offer"]}}
            for variant, flags in variants.items():
                offer = _ng_offer(f"wic-{variant}-{name}", core, flags)
                _write(out, f"ims-offer-wic-{variant}-{name}.sdp", offer)
                if variant == "sdes":
                    continue
                print(f"answering ims-offer-wic-{variant}-{name}.sdp")
                for who, answer in (("chromium", await _try_answer(page, kinds, offer)),
                                    ("aiortc", await _aiortc_answer(offer))):
                    if answer is not None and variant == "mux":
                        _write(out, f"answer-{who}-to-ims-wic-mux-{name}.sdp", answer)
    finally:
        daemon.terminate()
        daemon.wait(5)


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    executable = CHROMIUM if Path(CHROMIUM).exists() else "/usr/bin/chromium"
    with tempfile.TemporaryDirectory(prefix="capture-sdp-") as home:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=executable, args=list(CHROMIUM_FLAGS), env={"HOME": home}
            )
            try:
                page = await browser.new_page()
                await page.route(f"{ORIGIN}/**", _serve)
                await page.goto(f"{ORIGIN}/capture.html")
                await _capture_pairs(page, out)
                await _capture_ims(page, out)
            finally:
                await browser.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/corpus/sdp/captured"))
