"""Tokens at rest: Fernet encryption under a key from the environment, and key rotation.

The key never lives in the config file or the database; losing it means re-linking tokens,
not exposing them.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from monitor.config import Settings, read_secret
from monitor.errors import MonitorError, SecretMissing


class TokenDecryptError(MonitorError):
    """A stored token does not decrypt under the configured key (wrong or rotated key)."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


def _fernet(key: str, env_name: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError):
        raise SecretMissing(
            f"${env_name} is not a valid Fernet key (32 url-safe base64 bytes); "
            "generate one with `social-monitor keys generate`"
        ) from None


class TokenCipher:
    """Encrypts and decrypts account tokens; built from the key named in the config."""

    def __init__(self, key: str, env_name: str = "SOCIAL_MONITOR_SECRET_KEY") -> None:
        self._env_name = env_name
        self._fernet = _fernet(key, env_name)

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCipher:
        env_name = settings.security.secret_key_env
        secret = read_secret(env_name)
        if secret is None:
            raise SecretMissing(
                f"${env_name} is not set: it holds the key that encrypts account tokens"
            )
        return cls(secret.get_secret_value(), env_name)

    def encrypt(self, token: str) -> bytes:
        return self._fernet.encrypt(token.encode())

    def decrypt(self, blob: bytes) -> str:
        try:
            return self._fernet.decrypt(blob).decode()
        except InvalidToken:
            raise TokenDecryptError(
                f"a stored token does not decrypt with ${self._env_name}: wrong key, or "
                "tokens were rotated to another key"
            ) from None

    def rotate_to(self, new: TokenCipher, blob: bytes) -> bytes:
        """Re-encrypt ``blob`` (readable with this cipher) under ``new``."""
        return MultiFernet([new._fernet, self._fernet]).rotate(blob)
