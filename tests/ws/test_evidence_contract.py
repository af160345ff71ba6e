"""Writers and readers of evidence agree on every key (harness.evidence's payload types).

mypy checks the typed writers (`Timeline.put` / `Recorder.put` with `ev.ws_frame({...})`)
and the readers' `kind.of(entry)["key"]`. This test checks what mypy cannot see:

- what the writers actually append at run time (spreads such as `**facts.data()`, the
  values' types) conforms to the kind's TypedDict: no unknown key, no required key
  missing, each value of the declared type;
- every key a reader reads, with `[...]` or `.get(...)` (which mypy does not check), is a
  key of that kind's TypedDict and some writer does write it;
- the untyped reads left in modules not yet converted (`entry.data.get("x")`) name keys
  that exist in some payload type.

Renaming `masked` in the frame writer, or misspelling it in `frames_masked`, fails here.
"""

from __future__ import annotations

import ast
import asyncio
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN
from websockets.uri import parse_uri

from harness import evidence as ev
from harness.actors.channel import SipChannel
from harness.checks import framing
from harness.evidence import Kind, Timeline
from harness.pki import Pki
from harness.steps.wic.sip import wic_said
from harness.verdicts import Verdict
from harness.ws import connect
from harness.ws.observe import ObservedClient, ObservedServer
from harness.ws.record import ConnectionRecord, Recorder, WsMessage

HARNESS = Path(ev.__file__).resolve().parent
REGISTER = (
    b"REGISTER sip:ims.example.test SIP/2.0\r\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK1\r\n"
    b"Max-Forwards: 70\r\nTo: <sip:a@ims.example.test>\r\nFrom: <sip:a@ims.example.test>;tag=1\r\n"
    b"Call-ID: c1\r\nCSeq: 1 REGISTER\r\nContact: <sip:a@a.invalid;transport=ws>\r\n"
    b"Content-Length: 0\r\n\r\n"
)
KIND_NAMES = {name: k for name, k in vars(ev).items() if isinstance(k, Kind)}
"""The Kind objects by their name in harness.evidence (`ws_frame`...)."""

Written = list[tuple[str, dict[str, Any]]]


# -- what the writers write --------------------------------------------------------------


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> Written:
    """Every typed payload appended while the test runs, as (kind, data)."""
    seen: Written = []
    put = Timeline.put

    def spy(self: Timeline, actor: str, summary: str, payload: ev.Payload, **kw: Any) -> ev.Entry:
        seen.append((payload.kind, dict(payload.data)))
        return put(self, actor, summary, payload, **kw)

    monkeypatch.setattr(Timeline, "put", spy)
    return seen


class FakeConn:
    """The part of a WsConnection a SipChannel uses, fed in memory."""

    conn_id = "c9"

    def __init__(self) -> None:
        self.queue: asyncio.Queue[WsMessage] = asyncio.Queue()
        self.closed = False

    async def recv(self, timeout: float) -> WsMessage | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    async def send_text(self, data: bytes) -> int:
        return 0

    async def close(self, timeout: float = 1.0) -> None:
        self.closed = True


def in_memory_frames(timeline: Timeline) -> None:
    """harness.ws.record over websockets' protocols joined in memory: frames both ways,
    fragments, a close frame with a broken body, invalid UTF-8 and an unmasked frame."""
    client = ObservedClient(parse_uri("wss://127.0.0.1/"), state=OPEN)
    server = ObservedServer(state=OPEN)
    wic = ConnectionRecord(client, Recorder(timeline, "wic", "c1"))
    epc = ConnectionRecord(server, Recorder(timeline, "epcscf", "c2"))
    client.send_text(b"AB", fin=False)
    client.send_ping(b"p")
    client.send_continuation(b"CD", fin=True)
    client.send_binary(b"\x00\xff")
    client.send_frame(Frame(Opcode.CLOSE, b"\x03"))  # a Close body too short to parse
    wic.drain()
    for data in client.data_to_send():
        if data:
            server.receive_data(data)
    epc.drain()
    epc.close("peer")

    client = ObservedClient(parse_uri("wss://127.0.0.1/"), state=OPEN)
    server = ObservedServer(state=OPEN)
    epc = ConnectionRecord(server, Recorder(timeline, "epcscf", "c3"))
    client.send_text(b"ok \xff")  # invalid UTF-8: wicct fails it with 1007
    server.receive_data(b"".join(d for d in client.data_to_send() if d))
    epc.drain()
    epc = ConnectionRecord(ObservedServer(state=OPEN), Recorder(timeline, "epcscf", "c4"))
    epc.protocol.receive_data(b"\x81\x02hi")  # unmasked, from a client: 1002
    epc.drain()
    epc.close("us")


async def sip_channel(timeline: Timeline) -> None:
    """harness.actors.channel: SIP with bytes after it, junk, a keep-alive, SIP sent."""
    conn = FakeConn()
    chan = SipChannel(conn, timeline, "epcscf").start()  # type: ignore[arg-type]
    for payload in (REGISTER + b"OPTIONS", b"not sip at all\r\n\r\n", b"\r\n\r\n"):
        conn.queue.put_nowait(WsMessage("text", payload, (), 0))
    await chan.wait_for(lambda r: r.keepalive, 2.0)
    await chan.send(REGISTER)
    await chan.stop()


async def over_loopback(timeline: Timeline, pki: Pki) -> None:
    """harness.ws.conn / server / shell on real TLS: TCP, TLS, the upgrade, stimuli, a
    refused port, a certificate the client does not trust and an unparsable request."""
    from harness.ws import WsServer

    server = WsServer(timeline=timeline, ssl_context=pki.server_context())
    plain = WsServer(timeline=timeline, ssl_context=None, handshake_timeout=1.0)
    await server.start()
    await plain.start()
    try:
        result = await connect(server.url, timeline=timeline, ssl_context=pki.client_context(),
                               origin="https://wwsf.example")
        assert result.conn is not None, result.error
        await result.conn.send_raw_frame(opcode="text", payload=b"x", mask=True)
        await result.conn.send_text(b"\xff")  # the server fails the connection: 1007
        await result.conn.send_raw_bytes(b"\x00")
        await result.conn.close(1.0)

        other = Pki(name="unrelated CA")
        try:
            failed = await connect(
                server.url, timeline=timeline, ssl_context=other.client_context()
            )
        finally:
            other.close()
        assert failed.conn is None

        port = plain.port
        await plain.stop()
        refused = await connect(f"ws://127.0.0.1:{port}/", timeline=timeline, ssl_context=None)
        assert refused.error is not None

        plain = WsServer(timeline=timeline, ssl_context=None, handshake_timeout=1.0)
        await plain.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", plain.port)
        writer.write(b"NOT HTTP\r\n\r\n")
        await asyncio.wait_for(reader.read(), 2.0)
        writer.close()
        for _ in range(50):  # the server records the request before it closes
            if any("error" in e.data for e in timeline.select(kind=ev.HTTP_REQUEST)):
                break
            await asyncio.sleep(0.02)
    finally:
        await server.stop()
        await plain.stop()


@pytest.fixture
async def everything(written: Written, pki: Pki) -> Written:
    """What the typed writers wrote while exercising every one of them."""
    timeline = Timeline()
    in_memory_frames(timeline)
    await sip_channel(timeline)
    await over_loopback(timeline, pki)
    await token_issuer(timeline, pki)
    await wic_credentials(timeline, pki)
    await core_stray(timeline)
    for registered, detail in ((None, None), (True, None), (False, "no 2xx")):
        wic_said(timeline, "the WIC reports", registered, detail)
    return written


async def core_stray(timeline: Timeline) -> None:
    """The IMS-core stub's NOTE `stray_of`: a message made in another case reaches it."""
    from harness.actors.core import CoreStub, Source
    from harness.builtin import profiles_dir
    from harness.profiles import load_profile

    core = CoreStub(timeline, load_profile(profiles_dir() / "reference-epcscf.yaml"))
    other = "00000000" if timeline.scope != "00000000" else "11111111"
    await core._received(REGISTER.replace(b"Call-ID: c1", f"Call-ID: c1.wicct-{other}".encode()),
                         Source("udp", ("127.0.0.1", 5060)))


async def wic_credentials(timeline: Timeline, pki: Pki) -> None:
    """The eP-CSCF emulator's credential facts (NOTE `auth`): the reference WIC registers
    through a SHA-256 digest challenge."""
    import tempfile

    from harness.actors.epcscf_emulator import EpcscfEmulator
    from harness.builtin import profiles_dir
    from harness.profiles import load_profile
    from harness.suts.base import WicEnv
    from harness.suts.reference.wic.driver import ReferenceWicDriver

    profile = load_profile(profiles_dir() / "reference-wic.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        emulator = EpcscfEmulator(timeline=timeline, profile=profile, pki=pki, workdir=Path(tmp),
                                  challenge=True)
        await emulator.start()
        emulator.use_digest("SHA-256")
        wic = ReferenceWicDriver()
        try:
            await wic.start(WicEnv(profile=profile, pki=pki, epcscf_url=emulator.url,
                                   ca_pem=pki.ca_pem, workdir=Path(tmp)))
            await wic.register()
            for _ in range(300):
                if emulator.registration is not None:
                    break
                await asyncio.sleep(0.01)
            assert emulator.registration is not None, "the reference WIC did not register"
        finally:
            await wic.stop()
            await emulator.stop()


async def token_issuer(timeline: Timeline, pki: Pki) -> None:
    """The token issuer's writers: minted, jwks, introspection, and a refused request."""
    from harness.actors.token_issuer import TokenIssuer, http_request
    from harness.tokens import TokenSettings

    issuer = TokenIssuer(timeline, TokenSettings(), pki)
    await issuer.start()
    try:
        token = issuer.mint("valid", impi="alice@ims.example.test").token
        end = issuer.endpoint()
        await http_request(end.jwks_url, ca_pem=pki.ca_pem)
        await http_request(end.introspection_url, method="POST", body=f"token={token}".encode(),
                           ca_pem=pki.ca_pem)
        await http_request(end.base_url + "/nowhere", ca_pem=pki.ca_pem)
    finally:
        await issuer.stop()


# -- conformance of a value to a TypedDict ------------------------------------------------


def conforms(value: Any, tp: Any) -> bool:
    """isinstance for the types payloads use: unions, None, list[X], TypedDicts."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arg) for arg in typing.get_args(tp))
    if origin is typing.NotRequired:
        return conforms(value, typing.get_args(tp)[0])
    if tp is None or tp is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(tp)
        return isinstance(value, list) and all(conforms(v, item) for v in value)
    if typing.is_typeddict(tp):
        return isinstance(value, Mapping) and not problems(value, tp)
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def problems(data: Mapping[str, Any], payload: Any) -> list[str]:
    hints = typing.get_type_hints(payload, include_extras=True)
    found = [f"unknown key {k!r}" for k in data if k not in hints]
    found += [f"missing key {k!r}" for k in payload.__required_keys__ if k not in data]
    found += [
        f"{k!r} = {data[k]!r} is not {hints[k]}"
        for k in data
        if k in hints and not conforms(data[k], hints[k])
    ]
    return found


class TestWriters:
    async def test_every_payload_conforms_to_its_typeddict(self, everything: Written) -> None:
        bad = [
            (kind, data, problems(data, ev.KINDS[kind].payload))
            for kind, data in everything
            if problems(data, ev.KINDS[kind].payload)
        ]
        assert not bad, bad

    async def test_every_kind_the_ws_layer_writes_is_exercised(self, everything: Written) -> None:
        written_kinds = {kind for kind, _ in everything}
        assert written_kinds == set(ev.KINDS)  # DRIVER: the WIC steps' `wic_said`

    def test_kinds_are_registered_once(self) -> None:
        assert set(KIND_NAMES.values()) == set(ev.KINDS.values())
        assert {k.name for k in KIND_NAMES.values()} == set(ev.KINDS)

    def test_kind_of_refuses_another_kind(self) -> None:
        timeline = Timeline()
        entry = timeline.put("wic", "x", ev.connect({"peer": None, "local": None}))
        assert ev.connect.of(entry) == {"peer": None, "local": None}
        with pytest.raises(TypeError, match="'connect', not 'ws.frame'"):
            ev.ws_frame.of(entry)


# -- what the readers read ----------------------------------------------------------------


def _kind_of_call(node: ast.AST) -> Kind[Any] | None:
    """The Kind in `kind.of(...)` / `ev.kind.of(...)`, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    if node.func.attr != "of":
        return None
    target = node.func.value
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
    return KIND_NAMES.get(name or "")


def _key_read(node: ast.AST) -> tuple[ast.AST, str] | None:
    """(what is read from, key) for `x["key"]` and `x.get("key", ...)`."""
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, str)
    ):
        return node.value, node.slice.value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.func.value, node.args[0].value
    return None


def typed_reads(path: Path) -> Iterator[tuple[int, Kind[Any], str]]:
    """(line, kind, key) of each key read through `kind.of(entry)`, directly or through a
    name assigned from it in the same function (a read may be yielded more than once)."""
    tree = ast.parse(path.read_text(), str(path))
    scopes = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for scope in [tree, *scopes]:
        names: dict[str, Kind[Any]] = {}
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                kind = _kind_of_call(node.value)
                if kind is not None and isinstance(node.targets[0], ast.Name):
                    names[node.targets[0].id] = kind
        for node in ast.walk(scope):
            read = _key_read(node)
            if read is None:
                continue
            source, key = read
            kind = _kind_of_call(source)
            if kind is None and isinstance(source, ast.Name):
                kind = names.get(source.id)
            if kind is not None:
                yield node.lineno, kind, key


def untyped_reads(path: Path) -> Iterator[tuple[int, str]]:
    """(line, key) of each `<x>.data["key"]` / `<x>.data.get("key")` (not converted yet)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        read = _key_read(node)
        if read is not None and isinstance(read[0], ast.Attribute) and read[0].attr == "data":
            yield node.lineno, read[1]


SOURCES = sorted(HARNESS.rglob("*.py"))


class TestReaders:
    def test_the_checks_are_typed_readers(self) -> None:
        """The scanner sees the framing and transport checks' reads (it is not vacuous)."""
        reads = {
            (path.name, kind.name, key)
            for path in (HARNESS / "checks" / "framing.py", HARNESS / "checks" / "transport.py")
            for _, kind, key in typed_reads(path)
        }
        assert ("framing.py", ev.WS_FRAME, "masked") in reads
        assert ("framing.py", ev.SIP, "excess") in reads
        assert ("transport.py", ev.SIP, "raw") in reads
        assert not list(untyped_reads(HARNESS / "checks" / "framing.py"))
        assert not list(untyped_reads(HARNESS / "checks" / "transport.py"))

    @pytest.mark.parametrize("path", sorted((HARNESS / "checks").glob("*.py")), ids=lambda p: p.name)
    def test_every_check_reads_typed(self, path: Path) -> None:
        """Every module of harness/checks reads entry data through `kind.of` (whose keys the
        test below holds to the writers): a check reading a key no writer writes judges
        nothing, a silent PASS."""
        assert not list(untyped_reads(path)), f"{path.name} reads entry data untyped"

    def test_the_scanner_sees_the_converted_checks(self) -> None:
        """The reads converted in round 4 are seen as typed reads (the test above is not
        vacuous for them)."""
        reads = {
            (path.name, kind.name, key)
            for path in sorted((HARNESS / "checks").glob("*.py"))
            for _, kind, key in typed_reads(path)
        }
        for read in [
            ("handshake.py", ev.HTTP_REQUEST, "headers"), ("handshake.py", ev.TLS, "error"),
            ("exchanges.py", ev.DRIVER, "registered"), ("exchanges.py", ev.SIP, "start_line"),
            ("awaited.py", ev.WS_FRAME, "payload"), ("awaited.py", ev.NOTE, "keepalive"),
            ("closing.py", ev.WS_FRAME, "code"), ("registrar.py", ev.NOTE, "stray_of"),
            ("offer_answer.py", ev.SIP, "excess"), ("relay.py", ev.SIP_ERROR, "raw"),
        ]:
            assert read in reads, read

    async def test_every_key_read_is_typed_and_written(self, everything: Written) -> None:
        """Across harness/: a key read through `kind.of` is in the TypedDict and written."""
        produced: dict[str, set[str]] = {}
        for kind, data in everything:
            produced.setdefault(kind, set()).update(data)
        wrong = []
        for path in SOURCES:
            for line, kind, key in sorted(set(typed_reads(path)), key=lambda r: r[0]):
                where = f"{path.relative_to(HARNESS)}:{line} reads {kind.name} {key!r}"
                if key not in typing.get_type_hints(kind.payload):
                    wrong.append(f"{where}: not a key of {kind.payload.__name__}")
                elif key not in produced.get(kind.name, set()):
                    wrong.append(f"{where}: no writer writes it")
        assert not wrong, wrong

    @pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(HARNESS)))
    def test_untyped_reads_name_known_keys(self, path: Path) -> None:
        """Until harness.actors' role modules read through `kind.of`, their keys must at
        least exist in some payload type."""
        known = {key for k in ev.KINDS.values() for key in typing.get_type_hints(k.payload)}
        for line, key in untyped_reads(path):
            assert key in known, f"{path.name}:{line} reads entry data {key!r}: no payload has it"


def test_bench_reads_the_mandated_wait_note() -> None:
    """bench/bench_suite.py sums NOTE `mandated_wait` from report.json."""
    assert "mandated_wait" in ev.NoteData.__optional_keys__
    bench = (HARNESS.parent / "bench" / "bench_suite.py").read_text()
    assert '"mandated_wait"' in bench


class TestMaskedEndToEnd:
    """WIC-FR-02 (RFC 6455 §5.1) judged on entries the frame writer made."""

    def _judge(self, wire: bytes) -> Verdict | None:
        timeline = Timeline()
        epc = ConnectionRecord(ObservedServer(state=OPEN), Recorder(timeline, "epcscf", "c1"))
        epc.protocol.receive_data(wire)
        epc.drain()
        judgement = framing.frames_masked(list(timeline), "epcscf")
        return judgement.verdict if judgement is not None else None

    def test_masked_frame_passes(self) -> None:
        client = ObservedClient(parse_uri("wss://127.0.0.1/"), state=OPEN)
        client.send_text(b"hi")
        assert self._judge(client.data_to_send()[0]) is Verdict.PASS

    def test_unmasked_frame_fails(self) -> None:
        assert self._judge(b"\x81\x02hi") is Verdict.FAIL
