"""The webhook channel: Standard Webhooks signatures checked by the reference library."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from monitor.channels.webhook import WebhookChannel, signing_key
from monitor.config import schema
from monitor.config.schema import HttpSettings
from monitor.errors import PermanentDeliveryError, TransientDeliveryError
from monitor.http import HttpClient
from tests.digestkit import simple_message
from tests.farm import Farm, Reply, Request
from tests.receivers import Scripted

KEY = "digest:daily:2023-10-10T07:00:00+00:00:hooks"
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
LOOPBACK = HttpSettings.model_validate({"allow_networks": ["127.0.0.1/32"]})


def send_to(farm: Farm, replies: list[Reply], secret: str = SECRET, times: int = 1) -> Scripted:
    hook = Scripted(replies)
    farm.add_handler("/hook", hook)
    config = schema.WebhookChannel.model_validate(
        {"type": "webhook", "url": farm.url("/hook"), "secret": secret}
    )

    async def main() -> None:
        async with HttpClient(LOOPBACK) as http:
            channel = WebhookChannel("hooks", config, http)
            for _ in range(times):
                await channel.send(simple_message(), KEY)

    asyncio.run(main())
    return hook


def verify(request: Request, secret: str | bytes) -> object:
    return Webhook(secret).verify(request.body, request.headers)


def test_the_reference_library_verifies_the_signature(farm: Farm) -> None:
    hook = send_to(farm, [Reply(204)])
    [request] = hook.requests
    assert request.headers["webhook-id"] == KEY
    assert request.headers["content-type"] == "application/json"
    payload = verify(request, SECRET)
    assert payload == json.loads(json.dumps(simple_message().payload))
    assert isinstance(payload, dict)
    assert payload["type"] == "digest.created"

    tampered = Request(request.method, request.path, request.headers, request.body + b" ")
    with pytest.raises(WebhookVerificationError):
        verify(tampered, SECRET)
    with pytest.raises(WebhookVerificationError):
        verify(request, "whsec_" + base64.b64encode(b"another secret entirely").decode())


def test_a_plain_secret_is_used_as_its_bytes(farm: Farm) -> None:
    hook = send_to(farm, [Reply(200)], secret="correct horse battery staple")
    assert verify(hook.requests[0], b"correct horse battery staple")


def test_retries_carry_the_same_webhook_id(farm: Farm) -> None:
    hook = send_to(farm, [Reply(200)], times=2)
    assert [r.headers["webhook-id"] for r in hook.requests] == [KEY, KEY]
    assert hook.requests[0].body == hook.requests[1].body


@pytest.mark.parametrize(
    ("reply", "error", "retry_after"),
    [
        (Reply(429, {"Retry-After": "30"}), TransientDeliveryError, 30.0),
        (Reply(503), TransientDeliveryError, None),
        (Reply(500), TransientDeliveryError, None),
        (Reply(400), PermanentDeliveryError, None),
        (Reply(410), PermanentDeliveryError, None),
    ],
)
def test_failures(
    farm: Farm, reply: Reply, error: type[Exception], retry_after: float | None
) -> None:
    with pytest.raises(error) as caught:
        send_to(farm, [reply])
    if isinstance(caught.value, TransientDeliveryError):
        assert caught.value.retry_after == retry_after


def test_a_malformed_whsec_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="base64"):
        signing_key("whsec_not*base64!")
    assert signing_key("whsec_" + base64.b64encode(b"key").decode()) == b"key"
