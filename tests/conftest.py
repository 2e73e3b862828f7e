"""Test-wide environment: set before anything imports the settings (they are parsed once)."""

from __future__ import annotations

import os

os.environ.update(
    {
        "STAGE": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "JWT_SECRET": "test-jwt-secret-0123456789abcdef0123",
        "PHONE_HASH_KEY": "test-phone-hash-key-0123456789",
        "SMS_AUTH_TOKEN": "test-sms-token",
        "WECHAT_APP_SECRET": "test-wechat-secret",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "LOG_LEVEL": "WARNING",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)
