"""The Twilio-style SMS webhook: signature vectors, form parsing, TwiML."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from defusedxml.ElementTree import fromstring

from chalicelib.adapters.sms_webhook import check_twilio_signature, parse_sms, twilio_signature, twiml
from chalicelib.domain.channels import MalformedMessage

# Twilio's own vector, from the test suite of its Python library (tests/unit/test_request_validator.py).
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_TOKEN = "12345"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
TWILIO_EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
TWILIO_EXPECTED_WITH_443 = "kvajT1Ptam85bY51eRf/AJRuM3w="  # the same, signed as https://mycompany.com:443/…

RECEIVED = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


def test_twilios_published_vector() -> None:
    assert twilio_signature(TWILIO_URL, TWILIO_PARAMS, TWILIO_TOKEN) == TWILIO_EXPECTED
    assert check_twilio_signature(TWILIO_URL, TWILIO_PARAMS, TWILIO_TOKEN, TWILIO_EXPECTED)


def test_twilios_vector_for_repeated_parameters_sorts_the_values() -> None:
    params = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert twilio_signature(TWILIO_URL, params, TWILIO_TOKEN) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    as_form = {"Digits": ["5678", "1234"], "Sid": ["CA123"], "SidAccount": ["AC123"]}
    assert twilio_signature(TWILIO_URL, as_form, TWILIO_TOKEN) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_the_signature_of_the_documented_example_matches_the_algorithm_computed_by_hand() -> None:
    url = "https://example.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": ["CA1234567890ABCDE"],
        "Caller": ["+12349013030"],
        "Digits": ["1234"],
        "From": ["+12349013030"],
        "To": ["+18005551212"],
    }
    signed = (
        url + "CallSidCA1234567890ABCDE" + "Caller+12349013030" + "Digits1234" + "From+12349013030" + "To+18005551212"
    )
    expected = base64.b64encode(hmac.new(b"12345", signed.encode(), hashlib.sha1).digest()).decode()

    assert twilio_signature(url, params, "12345") == expected
    assert check_twilio_signature(url, params, "12345", expected)


def test_a_signature_made_with_or_without_the_default_port_is_accepted() -> None:
    assert check_twilio_signature(TWILIO_URL, TWILIO_PARAMS, TWILIO_TOKEN, TWILIO_EXPECTED_WITH_443)
    with_port = TWILIO_URL.replace(".com", ".com:443")
    assert check_twilio_signature(with_port, TWILIO_PARAMS, TWILIO_TOKEN, TWILIO_EXPECTED)


@pytest.mark.parametrize(
    ("url", "params", "token", "signature"),
    [
        (TWILIO_URL, {**TWILIO_PARAMS, "Digits": "1235"}, TWILIO_TOKEN, TWILIO_EXPECTED),
        (TWILIO_URL.replace("foo=1", "foo=2"), TWILIO_PARAMS, TWILIO_TOKEN, TWILIO_EXPECTED),
        (TWILIO_URL, {**TWILIO_PARAMS, "Body": "extra"}, TWILIO_TOKEN, TWILIO_EXPECTED),
        (TWILIO_URL, TWILIO_PARAMS, "54321", TWILIO_EXPECTED),
        (TWILIO_URL, TWILIO_PARAMS, TWILIO_TOKEN, ""),
        (TWILIO_URL, TWILIO_PARAMS, TWILIO_TOKEN, None),
        (TWILIO_URL, TWILIO_PARAMS, TWILIO_TOKEN, "签名"),
    ],
)
def test_a_changed_request_or_a_wrong_key_fails(
    url: str, params: dict[str, str], token: str, signature: str | None
) -> None:
    assert not check_twilio_signature(url, params, token, signature)


def test_an_unset_auth_token_accepts_nothing() -> None:
    forged = twilio_signature(TWILIO_URL, TWILIO_PARAMS, "")
    assert not check_twilio_signature(TWILIO_URL, TWILIO_PARAMS, "", forged)


def test_an_inbound_sms_becomes_a_text_message() -> None:
    form = {
        "MessageSid": ["SM0123456789abcdef0123456789abcdef"],
        "AccountSid": ["AC0123456789abcdef0123456789abcdef"],
        "From": ["+8613800000001"],
        "To": ["+8610690000"],
        "Body": ["报事 5号楼漏水"],
        "NumMedia": ["0"],
    }
    message = parse_sms(form, received_at=RECEIVED)

    assert (message.channel, message.kind, message.sender, message.to) == (
        "sms",
        "text",
        "+8613800000001",
        "+8610690000",
    )
    assert message.text == "报事 5号楼漏水"
    assert message.message_id == "SM0123456789abcdef0123456789abcdef"
    assert message.created_at == RECEIVED
    assert message.dedupe_key == "sms#msg#SM0123456789abcdef0123456789abcdef"
    assert message.media_urls == ()


def test_an_mms_carries_its_media_urls() -> None:
    form = {
        "MessageSid": ["MM1"],
        "From": ["+8613800000001"],
        "To": ["+8610690000"],
        "Body": [""],
        "NumMedia": ["2"],
        "MediaUrl0": ["https://api.twilio.com/media/ME1"],
        "MediaContentType0": ["image/jpeg"],
        "MediaUrl1": ["https://api.twilio.com/media/ME2"],
        "MediaContentType1": ["image/png"],
    }
    message = parse_sms(form, received_at=RECEIVED)

    assert message.kind == "image"
    assert message.text is None
    assert message.media_urls == ("https://api.twilio.com/media/ME1", "https://api.twilio.com/media/ME2")
    assert message.media_url == "https://api.twilio.com/media/ME1"


@pytest.mark.parametrize(
    "form",
    [
        {"From": ["+8613800000001"], "To": ["+8610690000"], "Body": ["hi"]},
        {"MessageSid": ["SM1"], "To": ["+8610690000"], "Body": ["hi"]},
        {"MessageSid": ["SM1"], "From": ["+8613800000001"], "To": ["+8610690000"], "NumMedia": ["two"]},
    ],
)
def test_a_form_without_the_required_fields_is_malformed(form: dict[str, list[str]]) -> None:
    with pytest.raises(MalformedMessage):
        parse_sms(form, received_at=RECEIVED)


def test_twiml_escapes_the_reply() -> None:
    answer = twiml('已收到 <报事> & "谢谢" ]]> \x07')

    assert answer.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert fromstring(answer).find("Message").text == '已收到 <报事> & "谢谢" ]]> '  # type: ignore[union-attr]


@pytest.mark.parametrize("message", [None, ""])
def test_no_reply_is_an_empty_response(message: str | None) -> None:
    answer = twiml(message)
    assert answer == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert len(fromstring(answer)) == 0
