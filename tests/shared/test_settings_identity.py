"""Identity's settings: bounds checked at start-up, the web API key kept secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import Settings


@pytest.mark.parametrize("seconds", [299, 14 * 24 * 3600 + 1])
def test_session_cookie_lifetime_within_firebases_bounds(seconds: int) -> None:
    with pytest.raises(ValidationError, match="session_cookie_max_age_seconds"):
        Settings(session_cookie_max_age_seconds=seconds)


def test_the_web_api_key_is_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREBASE_WEB_API_KEY", "AIza-very-secret")
    monkeypatch.setenv("K_SERVICE", "web")
    settings = Settings()
    assert "AIza-very-secret" not in repr(settings)
    assert settings.firebase_web_api_key is not None
    assert settings.firebase_web_api_key.get_secret_value() == "AIza-very-secret"
    assert settings.k_service == "web"  # Cloud Run's own variable is read
