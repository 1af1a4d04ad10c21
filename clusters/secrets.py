"""Secrets at rest (provider credentials, cluster super-user passwords): encrypted with a key derived
from SECRET_KEY and a purpose, so one leaked column does not open another."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _fernet(purpose: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"streamplane", info=purpose.encode()
    ).derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_json(value: Any, *, purpose: str) -> str:
    return _fernet(purpose).encrypt(json.dumps(value).encode()).decode()


def decrypt_json(token: str, *, purpose: str) -> Any:
    return json.loads(_fernet(purpose).decrypt(token.encode()))
