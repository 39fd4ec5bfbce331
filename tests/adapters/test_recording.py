from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integration.adapters.recording import (
    BadLine,
    RecordingWriter,
    decode_line,
    encode_line,
    read_recording,
)
from integration.messages import InboundMessage

messages = st.builds(
    InboundMessage,
    t=st.floats(min_value=0, max_value=4e9, allow_nan=False),
    topic=st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s),
    payload=st.binary(max_size=200),
)


@given(messages)
def test_every_message_round_trips_byte_for_byte(message: InboundMessage) -> None:
    assert decode_line(encode_line(message)) == message


def test_text_payloads_stay_readable_and_bytes_go_base64() -> None:
    assert (
        encode_line(InboundMessage(1.5, "a/b", b'{"x":1}'))
        == '{"ts":1.5,"topic":"a/b","payload":"{\\"x\\":1}"}'
    )
    assert (
        encode_line(InboundMessage(1.5, "a/b", b"\xff\x00"))
        == '{"ts":1.5,"topic":"a/b","payload_b64":"/wA="}'
    )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "not JSON"),
        ("[1,2]", "not a JSON object"),
        ('{"ts":"x","topic":"a","payload":""}', "ts is not a number of seconds"),
        ('{"ts":true,"topic":"a","payload":""}', "ts is not a number of seconds"),
        ('{"ts":1,"payload":""}', "topic is missing"),
        ('{"ts":1,"topic":"a"}', "payload is missing"),
        ('{"ts":1,"topic":"a","payload_b64":"%%%"}', "payload_b64 is not base64"),
        (
            '{"ts":1,"topic":"a","payload":"\\ud800"}',
            "payload is not valid text (use payload_b64 for bytes)",
        ),
    ],
    ids=[
        "garbage",
        "array",
        "ts-text",
        "ts-bool",
        "no-topic",
        "no-payload",
        "bad-b64",
        "lone-surrogate",
    ],
)
def test_unusable_lines_say_why(line: str, reason: str) -> None:
    assert decode_line(line) == reason


def test_reading_skips_bad_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "night.jsonl"
    with RecordingWriter(path) as writer:
        writer.write(InboundMessage(1.0, "a", b"1"))
    with path.open("a", encoding="utf-8") as file:
        file.write("garbage\n\n")
    with RecordingWriter(path) as writer:
        writer.write(InboundMessage(2.0, "b", b"2"))
    bad: list[BadLine] = []
    with path.open(encoding="utf-8") as lines:
        got = list(read_recording(lines, bad))
    assert got == [InboundMessage(1.0, "a", b"1"), InboundMessage(2.0, "b", b"2")]
    assert bad == [BadLine(2, "not JSON")]
