"""Test-wide environment: set before anything imports the settings (they are parsed once)."""

from __future__ import annotations

import os
import socket


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The integration tests run the local stack's provider sandbox on this port, so the app's real
# SMS and WeChat HTTP clients are exercised.
SANDBOX_PORT = _free_port()

TEST_ENVIRONMENT = {
    "STAGE": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "JWT_SECRET": "test-jwt-secret-0123456789abcdef0123",
    "PHONE_HASH_KEY": "test-phone-hash-key-0123456789",
    "SMS_AUTH_TOKEN": "test-sms-token",
    "SMS_API_BASE": f"http://127.0.0.1:{SANDBOX_PORT}/sms",
    "WECHAT_API_BASE": f"http://127.0.0.1:{SANDBOX_PORT}/wechat",
    "WECHAT_APP_SECRET": "test-wechat-secret",
    "WECHAT_TOKEN": "test-wechat-token",
    "WECHAT_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "PUBLIC_BASE_URL": "https://api.weilinli.test",
    # In-process moto routes DynamoDB Streams calls made with the credentials' account id in the
    # endpoint (botocore's default) to DynamoDB itself; the plain regional endpoint works.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_METRICS_DISABLED": "true",
    # Deadlines in thousandths: an urgent report's 5 minutes to accept become 0.3 s per level.
    "DEADLINE_SCALE": "0.001",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(TEST_ENVIRONMENT)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)
