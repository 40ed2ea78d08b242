"""tmdb.language in app.yml (issue 12): checked at load, with the usual error naming file, field and value."""
from __future__ import annotations

import pytest

from plexrecs_assets.config import ConfigError, load_app_config


@pytest.mark.parametrize("language", ["en", "en-US", "de-DE", "pt-BR", "zh-CN"])
def test_tmdb_language_codes_are_accepted(tmp_path, language):
    (tmp_path / "app.yml").write_text(f"tmdb:\n  language: {language}\n", encoding="utf-8")
    assert load_app_config(tmp_path, env={}).tmdb.language == language


@pytest.mark.parametrize("language", ["english", "en_US", "EN-us", "de-", ""])
def test_a_bad_tmdb_language_names_file_field_and_value(tmp_path, language):
    (tmp_path / "app.yml").write_text(f'tmdb:\n  language: "{language}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_app_config(tmp_path, env={})
    message = str(info.value)
    assert "app.yml" in message and "tmdb.language" in message and repr(language) in message
