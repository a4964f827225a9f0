"""EWO_DATABASE_URL: a libpq URL whose password never prints, and the secrets it requires."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from bot.cli import CliEnv, main
from bot.settings import SettingsError, load_settings

URL = "postgresql://ewo:pw-canary-77@db.example:5432/ewo?sslmode=verify-full"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray ./.env
    for name in list(os.environ):
        if name.startswith("EWO_"):
            monkeypatch.delenv(name)


def test_unset_or_empty_means_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().database_url is None
    monkeypatch.setenv("EWO_DATABASE_URL", " ")
    assert load_settings().database_url is None


def test_the_url_is_kept_whole_and_its_password_never_prints(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EWO_DATABASE_URL", URL)
    monkeypatch.setenv("EWO_AUDIT_KEY", "k" * 32)
    monkeypatch.setenv("EWO_PIN_PEPPER", "p" * 43)
    settings = load_settings()
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == URL
    for text in (repr(settings), str(settings), str(settings.database_url),
                 repr(settings.database_url)):
        assert "pw-canary-77" not in text
    assert str(settings.database_url) == (
        "postgresql://ewo:***@db.example:5432/ewo?sslmode=verify-full")
    monkeypatch.setenv("EWO_DATABASE_URL", "postgresql://ewo@/ewo?host=/run/pg&password=pw-canary-77")
    assert "pw-canary-77" not in repr(load_settings())


@pytest.mark.parametrize("value", ["mysql://u:pw-canary-77@h/db", "pw-canary-77"])
def test_a_url_that_is_not_postgresql_is_refused_without_echoing_it(
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("EWO_DATABASE_URL", value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value) == (
        "EWO_DATABASE_URL: expected postgresql://USER:PASSWORD@HOST:PORT/DB")


@pytest.mark.parametrize("missing", ["AUDIT_KEY", "PIN_PEPPER"])
def test_postgresql_requires_the_shared_secrets(monkeypatch: pytest.MonkeyPatch,
                                                missing: str, tmp_path: Path) -> None:
    (tmp_path / "pepper").write_text("p" * 43 + "\n")
    (tmp_path / "pepper").chmod(0o600)
    monkeypatch.setenv("EWO_DATABASE_URL", URL)
    monkeypatch.setenv("EWO_AUDIT_KEY", "k" * 32)
    monkeypatch.setenv("EWO_PIN_PEPPER_FILE", str(tmp_path / "pepper"))
    monkeypatch.delenv(f"EWO_{missing}", raising=False)
    monkeypatch.delenv(f"EWO_{missing}_FILE", raising=False)
    with pytest.raises(SettingsError, match=f"^EWO_{missing} \\(or EWO_{missing}_FILE\\) "
                                            "is required with EWO_DATABASE_URL"):
        load_settings()
    err = io.StringIO()
    assert main(["init"], CliEnv(settings_factory=load_settings, out=io.StringIO(),
                                 err=err)) == 1
    assert err.getvalue().count("\n") == 1 and err.getvalue().startswith(f"EWO_{missing} (or")


@pytest.mark.parametrize(("url", "reason"), [
    ("postgresql://ewo:pw-canary-77@127.0.0.1:1/ewo?bogus=1",
     'invalid URI query parameter: "bogus"'),
    ("postgresql://ewo:pw-canary-77%ZZ@127.0.0.1:1/ewo", 'invalid percent-encoded token: "***"'),
    ("postgresql://ewo:pw@127.0.0.1:1/ewo?password=pw-canary-77%ZZ",
     'invalid percent-encoded token: "***"'),
])
@pytest.mark.parametrize("argv", [["init"], ["status"], ["audit", "verify"]])
@pytest.mark.parametrize("source", ["setting", "file"])
def test_a_url_libpq_cannot_read_is_one_line_without_the_password(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, reason: str,
        argv: list[str], source: str) -> None:
    """A mistyped EWO_DATABASE_URL (an unknown parameter, a bad %-escape) is the
    operator's mistake: one line, exit 1, no traceback and no password in it, whether
    the URL is the setting or EWO_DATABASE_URL_FILE's."""
    set_url(monkeypatch, tmp_path, url, source)
    monkeypatch.setenv("EWO_AUDIT_KEY", "k" * 32)
    monkeypatch.setenv("EWO_PIN_PEPPER", "p" * 43)
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, CliEnv(settings_factory=load_settings, out=out, err=err))
    assert (code, out.getvalue()) == (1, ""), err.getvalue()
    assert err.getvalue().count("\n") == 1, err.getvalue()
    assert err.getvalue().startswith("cannot use postgresql://ewo:")
    assert err.getvalue().endswith(f" {reason}\n")
    assert "pw-canary-77" not in err.getvalue()


def set_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, source: str) -> None:
    """EWO_DATABASE_URL, or a private file holding it that EWO_DATABASE_URL_FILE names."""
    if source == "setting":
        monkeypatch.setenv("EWO_DATABASE_URL", url)
        return
    path = tmp_path / "database-url"
    path.write_text(url + "\n")
    path.chmod(0o400)
    monkeypatch.setenv("EWO_DATABASE_URL_FILE", str(path))


def test_a_url_file_is_the_database_init_and_status_use(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_url: str) -> None:
    """EWO_DATABASE_URL_FILE means PostgreSQL, exactly as the setting does, and its
    password never prints."""
    from tests.pg import PASSWORD
    set_url(monkeypatch, tmp_path, pg_url, "file")
    monkeypatch.setenv("EWO_AUDIT_KEY", "k" * 32)
    monkeypatch.setenv("EWO_PIN_PEPPER", "p" * 43)
    for argv in (["init"], ["status"]):
        out, err = io.StringIO(), io.StringIO()
        code = main(argv, CliEnv(settings_factory=load_settings, out=out, err=err))
        assert code == 0, err.getvalue()
        assert PASSWORD not in out.getvalue() + err.getvalue()
    assert out.getvalue().startswith("database: PostgreSQL postgresql://")
    assert ":***@" in out.getvalue().splitlines()[0]
    assert not (tmp_path / "data").exists()  # never the SQLite default
