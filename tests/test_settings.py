"""Settings: defaults, empty means none, one clear line for a bad value, secrets hidden."""

from __future__ import annotations

import io
from datetime import time
from pathlib import Path

import pytest

from bot.cli import CliEnv, main
from bot.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray ./.env
    for name in list(__import__("os").environ):
        if name.startswith("EWO_"):
            monkeypatch.delenv(name)


def test_defaults_follow_the_contract() -> None:
    settings = load_settings()
    assert settings.telegram_token is None
    assert settings.telegram_api_url == "https://api.telegram.org/bot"
    assert settings.database == Path("data/ewo.sqlite3")
    assert str(settings.timezone) == "Europe/London"
    assert (settings.pa_threshold, settings.sa_threshold) == (90, 50)
    assert settings.quiet_hours is not None and settings.quiet_hours.start == time(20, 0)
    assert settings.quiet_days == frozenset({5, 6})
    assert settings.caseload_digest == (0, time(8, 0))
    assert settings.sensitive_message_minutes == 15


def test_empty_means_none_not_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EWO_QUIET_HOURS", "")
    monkeypatch.setenv("EWO_QUIET_DAYS", "")
    monkeypatch.setenv("EWO_CASELOAD_DIGEST", "")
    monkeypatch.setenv("EWO_TELEGRAM_TOKEN", "")
    settings = load_settings()
    assert settings.quiet_hours is None
    assert settings.quiet_days == frozenset()
    assert settings.caseload_digest is None
    assert settings.telegram_token is None


def test_dotenv_is_read_after_the_environment(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("EWO_PA_THRESHOLD=85\nEWO_SA_THRESHOLD=40\n")
    monkeypatch.setenv("EWO_SA_THRESHOLD", "45")
    settings = load_settings()
    assert (settings.pa_threshold, settings.sa_threshold) == (85, 45)


@pytest.mark.parametrize(
    ("name", "value", "starts"),
    [
        ("EWO_PA_THRESHOLD", "abc", "EWO_PA_THRESHOLD:"),
        ("EWO_PA_THRESHOLD", "100", "EWO_PA_THRESHOLD:"),
        ("EWO_SA_THRESHOLD", "95", "EWO_SA_THRESHOLD must be below EWO_PA_THRESHOLD"),
        ("EWO_TIMEZONE", "Mars/Olympus", "EWO_TIMEZONE:"),
        ("EWO_ACADEMIC_YEAR_END", "02-29", "EWO_ACADEMIC_YEAR_END:"),
        ("EWO_QUIET_HOURS", "8pm-7am", "EWO_QUIET_HOURS:"),
        ("EWO_QUIET_DAYS", "SAT,FUNDAY", "EWO_QUIET_DAYS:"),
        # Every day quiet: nothing pushed could ever go (and the retention check failed).
        ("EWO_QUIET_DAYS", "MON,TUE,WED,THU,FRI,SAT,SUN", "EWO_QUIET_DAYS:"),
        ("EWO_CASELOAD_DIGEST", "MONDAY", "EWO_CASELOAD_DIGEST:"),
        ("EWO_SENSITIVE_MESSAGE_MINUTES", "3000", "EWO_SENSITIVE_MESSAGE_MINUTES:"),
    ],
)
def test_bad_value_gives_one_line_naming_the_setting(monkeypatch: pytest.MonkeyPatch,
                                                     name: str, value: str, starts: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(starts)
    assert "\n" not in message


@pytest.mark.parametrize("name", ["EWO_PA_THRESHOLD", "EWO_TIMEZONE", "EWO_QUIET_HOURS",
                                  "EWO_OUTBOX_POLL_SECONDS"])
def test_bad_value_is_not_echoed(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "zz-canary-value")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "canary" not in str(caught.value)


def test_token_never_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "123456789:AAHsecretsecretsecretsecretsecret"
    monkeypatch.setenv("EWO_TELEGRAM_TOKEN", token)
    settings = load_settings()
    assert token not in repr(settings) and token not in str(settings)
    assert settings.telegram_token is not None
    assert settings.telegram_token.get_secret_value() == token


def test_command_line_reports_a_bad_setting_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EWO_PA_THRESHOLD", "abc")
    err = io.StringIO()
    code = main(["init"], CliEnv(settings_factory=load_settings, out=io.StringIO(), err=err))
    assert code == 1
    assert err.getvalue().count("\n") == 1
    assert err.getvalue().startswith("EWO_PA_THRESHOLD:")


def test_settings_are_frozen() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        settings.pa_threshold = 10  # type: ignore[misc]


def test_secrets_may_come_from_settings_or_files(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    (tmp_path / "audit").write_text("audit-key-from-a-file\n")
    (tmp_path / "audit").chmod(0o600)
    monkeypatch.setenv("EWO_PIN_PEPPER", "x" * 43)
    monkeypatch.setenv("EWO_AUDIT_KEY_FILE", str(tmp_path / "audit"))
    settings = load_settings()
    assert settings.pin_pepper is not None and "x" * 43 not in repr(settings)
    assert settings.audit_key is not None
    assert settings.audit_key.get_secret_value() == "audit-key-from-a-file"
    assert "audit-key-from-a-file" not in repr(settings)
    assert settings.audit_key_path == tmp_path / "audit"
    assert settings.pepper_path == Path("data/ewo.sqlite3.pepper")


def test_a_short_pepper_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EWO_PIN_PEPPER", "short-pepper")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value).startswith("EWO_PIN_PEPPER: must be at least 43 characters")
    assert "short-pepper" not in str(refused.value)


@pytest.mark.parametrize("name", ["TELEGRAM_TOKEN", "DATABASE_KEY", "DATABASE_URL",
                                  "AUDIT_KEY", "PIN_PEPPER", "WEBHOOK_SECRET"])
def test_a_secret_and_its_file_together_are_refused(monkeypatch: pytest.MonkeyPatch,
                                                    name: str) -> None:
    monkeypatch.setenv(f"EWO_{name}", "y" * 43)
    monkeypatch.setenv(f"EWO_{name}_FILE", "/run/credentials/x")
    with pytest.raises(SettingsError,
                       match=f"^EWO_{name} and EWO_{name}_FILE are both set: keep one$"):
        load_settings()


# A value each secret setting takes, and how to read it back from the settings.
SECRETS = {
    "TELEGRAM_TOKEN": "123456789:AAH-token_from_a_file_0123456789",
    "DATABASE_KEY": "hunter2-database-key",
    "DATABASE_URL": "postgresql://ewo:pw-canary-77@db.example:5432/ewo",
    "AUDIT_KEY": "audit-key-from-a-file",
    "PIN_PEPPER": "p" * 43,
    "WEBHOOK_SECRET": "from-a-file_123",
}


def secret_of(settings: Settings, name: str) -> str:
    value = getattr(settings, name.lower())
    assert value is not None, name
    return value.get_secret_value()


def secret_file(tmp_path: Path, content: bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "credential"
    path.write_bytes(content)
    path.chmod(mode)
    return path


def with_what_it_needs(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The other settings a secret needs to be valid (PostgreSQL needs the shared keys)."""
    if name == "DATABASE_URL":
        monkeypatch.setenv("EWO_AUDIT_KEY", "k" * 32)
        monkeypatch.setenv("EWO_PIN_PEPPER", "q" * 43)


@pytest.mark.parametrize("name", SECRETS)
def test_every_secret_may_come_from_a_file_as_from_its_setting(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> None:
    """An editor's mark and the file's surrounding whitespace are not the secret's."""
    with_what_it_needs(monkeypatch, name)
    monkeypatch.setenv(f"EWO_{name}", SECRETS[name])
    from_setting = load_settings()
    monkeypatch.delenv(f"EWO_{name}")
    path = secret_file(tmp_path, b"\xef\xbb\xbf  " + SECRETS[name].encode() + b" \r\n")
    monkeypatch.setenv(f"EWO_{name}_FILE", str(path))
    from_file = load_settings()
    assert secret_of(from_file, name) == secret_of(from_setting, name) == SECRETS[name]
    assert getattr(from_file, name.lower()) == getattr(from_setting, name.lower())
    assert "pw-canary-77" not in repr(from_file) and SECRETS[name] not in repr(from_file)


@pytest.mark.parametrize("name", SECRETS)
def test_a_secret_setting_is_stripped_as_its_file_is(monkeypatch: pytest.MonkeyPatch,
                                                     name: str) -> None:
    """The same value with surrounding whitespace is the same secret (the same audit key,
    the same SQLCipher key) whichever way it is given."""
    with_what_it_needs(monkeypatch, name)
    monkeypatch.setenv(f"EWO_{name}", f"  {SECRETS[name]}\t\n")
    assert secret_of(load_settings(), name) == SECRETS[name]


@pytest.mark.parametrize(("content", "mode", "reason"), [
    (b"", 0o600, "{path} is empty"),
    (b" \r\n", 0o600, "{path} is empty"),
    (b"\xef\xbb\xbf\n", 0o600, "{path} is empty"),
    (b"caf\xe9-secret-value\n", 0o600, "cannot read {path}: not UTF-8 text"),
    (b"secret-value", 0o640, "refused: {path} can be read by group or others (mode 0640); "
                             "chmod 600 it"),
    (b"secret-value", 0o604, "refused: {path} can be read by group or others (mode 0604); "
                             "chmod 600 it"),
    (None, 0o600, "no such file {path}"),
])
@pytest.mark.parametrize("name", SECRETS)
def test_a_secret_file_that_will_not_do_stops_in_one_line_naming_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, content: bytes | None,
        mode: int, reason: str) -> None:
    with_what_it_needs(monkeypatch, name)
    path = tmp_path / "credential"
    if content is not None:
        path = secret_file(tmp_path, content, mode)
    monkeypatch.setenv(f"EWO_{name}_FILE", str(path))
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value) == f"EWO_{name}_FILE: " + reason.format(path=path)
    err = io.StringIO()
    assert main(["officers", "list"], CliEnv(settings_factory=load_settings,
                                             out=io.StringIO(), err=err)) == 1
    assert err.getvalue() == str(refused.value) + "\n"
    assert "secret-value" not in err.getvalue()


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("PIN_PEPPER", "short-pepper", "must be at least 43 characters of randomness"),
    ("WEBHOOK_SECRET", "has space", "must be 1 to 256 of A-Z, a-z, 0-9, _ and -"),
    ("DATABASE_URL", "mysql://u:pw-canary-77@h/db",
     "expected postgresql://USER:PASSWORD@HOST:PORT/DB"),
])
def test_a_secret_file_is_held_to_its_settings_rules_without_echoing_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, content: str,
        reason: str) -> None:
    """A pepper in a file is a pepper: at least 43 characters, as EWO_PIN_PEPPER."""
    with_what_it_needs(monkeypatch, name)
    path = secret_file(tmp_path, content.encode() + b"\n")
    monkeypatch.setenv(f"EWO_{name}_FILE", str(path))
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value).startswith(f"EWO_{name}_FILE: {path}: {reason}")
    assert content not in str(refused.value) and "pw-canary-77" not in str(refused.value)


def test_a_token_file_is_the_token_and_is_hidden_in_error_output(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Not ignored, as an unknown setting would be; hidden as the setting is."""
    path = secret_file(tmp_path, SECRETS["TELEGRAM_TOKEN"].encode() + b"\n")
    monkeypatch.setenv("EWO_TELEGRAM_TOKEN_FILE", str(path))
    settings = load_settings()
    assert settings.telegram_token is not None
    assert CliEnv(_settings=settings).secrets()[0] == SECRETS["TELEGRAM_TOKEN"]


def test_webhook_settings_default_to_polling_on_the_loopback_port() -> None:
    settings = load_settings()
    assert settings.webhook_url is None
    assert settings.webhook_listen == ("127.0.0.1", 8080)
    assert settings.webhook_secret is None
    host, _, pid = settings.instance_name.rpartition(":")
    assert host and pid == str(__import__("os").getpid())


def test_webhook_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EWO_WEBHOOK_URL", "https://bot.example.org/telegram")
    monkeypatch.setenv("EWO_WEBHOOK_LISTEN", "[::1]:8443")
    monkeypatch.setenv("EWO_WEBHOOK_SECRET", "A" * 256)
    monkeypatch.setenv("EWO_INSTANCE_NAME", "ewo-2.example:1")
    settings = load_settings()
    assert settings.webhook_url == "https://bot.example.org/telegram"
    assert settings.webhook_listen == ("::1", 8443)
    assert settings.webhook_secret_text() == "A" * 256
    assert "A" * 256 not in repr(settings)
    assert settings.instance_name == "ewo-2.example:1"


@pytest.mark.parametrize(("values", "line"), [
    ({"EWO_WEBHOOK_URL": "http://bot.example.org/telegram", "EWO_WEBHOOK_SECRET": "s"},
     "EWO_WEBHOOK_URL: expected an https:// URL"),
    ({"EWO_WEBHOOK_URL": "bot.example.org", "EWO_WEBHOOK_SECRET": "s"},
     "EWO_WEBHOOK_URL: expected an https:// URL"),
    ({"EWO_WEBHOOK_URL": "https://bot.example.org/telegram"},
     "EWO_WEBHOOK_SECRET (or EWO_WEBHOOK_SECRET_FILE) is required with EWO_WEBHOOK_URL"),
    ({"EWO_WEBHOOK_SECRET": "has space"}, "EWO_WEBHOOK_SECRET: must be 1 to 256 of"),
    ({"EWO_WEBHOOK_SECRET": "A" * 257}, "EWO_WEBHOOK_SECRET: must be 1 to 256 of"),
    ({"EWO_WEBHOOK_SECRET": "s", "EWO_WEBHOOK_SECRET_FILE": "/run/secret"},
     "EWO_WEBHOOK_SECRET and EWO_WEBHOOK_SECRET_FILE are both set: keep one"),
    ({"EWO_WEBHOOK_LISTEN": "8080"}, "EWO_WEBHOOK_LISTEN: expected HOST:PORT"),
    ({"EWO_WEBHOOK_LISTEN": "127.0.0.1:99999"}, "EWO_WEBHOOK_LISTEN: expected HOST:PORT"),
    ({"EWO_WEBHOOK_LISTEN": ":8080"}, "EWO_WEBHOOK_LISTEN: expected HOST:PORT"),
    ({"EWO_INSTANCE_NAME": ""}, "EWO_INSTANCE_NAME: must be 1 to 100 of"),
    ({"EWO_INSTANCE_NAME": "two words"}, "EWO_INSTANCE_NAME: must be 1 to 100 of"),
])
def test_bad_webhook_settings_are_one_line_naming_the_setting(
        monkeypatch: pytest.MonkeyPatch, values: dict[str, str], line: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value).startswith(line)
    assert "\n" not in str(raised.value)
    assert "has space" not in str(raised.value)


def test_http_webhook_url_is_allowed_to_a_loopback_address(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EWO_WEBHOOK_URL", "http://127.0.0.1:8080/telegram")
    monkeypatch.setenv("EWO_WEBHOOK_SECRET", "s")
    assert load_settings().webhook_url == "http://127.0.0.1:8080/telegram"


def test_the_webhook_secret_may_come_from_a_private_file(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "webhook-secret"
    secret.write_text("from-a-file_123\n")
    secret.chmod(0o600)
    monkeypatch.setenv("EWO_WEBHOOK_URL", "https://bot.example.org/telegram")
    monkeypatch.setenv("EWO_WEBHOOK_SECRET_FILE", str(secret))
    assert load_settings().webhook_secret_text() == "from-a-file_123"


def test_a_byte_order_mark_is_not_part_of_the_webhook_secret(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An editor that saves UTF-8 with a mark: the secret is the text after it."""
    secret = tmp_path / "webhook-secret"
    secret.write_bytes(b"\xef\xbb\xbffrom-a-file_123\n")
    secret.chmod(0o600)
    monkeypatch.setenv("EWO_WEBHOOK_URL", "https://bot.example.org/telegram")
    monkeypatch.setenv("EWO_WEBHOOK_SECRET_FILE", str(secret))
    assert load_settings().webhook_secret_text() == "from-a-file_123"


@pytest.mark.parametrize(("content", "reason"), [
    (b"caf\xe9-secret\n", "not UTF-8 text"),
    (None, "Is a directory"),
])
def test_a_webhook_secret_file_that_cannot_be_read_says_why_in_words(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: bytes | None,
        reason: str) -> None:
    secret = tmp_path / "webhook-secret"
    if content is None:
        secret.mkdir(mode=0o700)
    else:
        secret.write_bytes(content)
        secret.chmod(0o600)
    monkeypatch.setenv("EWO_WEBHOOK_URL", "https://bot.example.org/telegram")
    monkeypatch.setenv("EWO_WEBHOOK_SECRET_FILE", str(secret))
    with pytest.raises(SettingsError) as refused:
        load_settings().webhook_secret_text()
    assert str(refused.value) == f"EWO_WEBHOOK_SECRET_FILE: cannot read {secret}: {reason}"


def test_the_example_env_documents_every_setting() -> None:
    example = (Path(__file__).resolve().parent.parent / "config" / "example.env").read_text()
    missing = [name for name in Settings.model_fields if f"EWO_{name.upper()}" not in example]
    assert missing == []


@pytest.mark.parametrize(("name", "message"), [
    ("EWO_DATABASE", "EWO_DATABASE: must name a file"),
    ("EWO_EXPORT_DIR", "EWO_EXPORT_DIR: must name a folder"),
])
@pytest.mark.parametrize("argv", [["officers", "list"], ["init"], ["sar", "H801200001001"]])
def test_an_empty_path_setting_is_one_line_and_writes_nothing(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, message: str,
        argv: list[str]) -> None:
    """Empty means none, and neither can be none: not the working directory."""
    monkeypatch.setenv("EWO_DATABASE", str(tmp_path / "data" / "ewo.sqlite3"))
    monkeypatch.setenv(name, "")
    out, err = io.StringIO(), io.StringIO()

    code = main(argv, CliEnv(settings_factory=load_settings, out=out, err=err))

    assert (code, out.getvalue(), err.getvalue()) == (1, "", message + "\n")
    assert list(tmp_path.iterdir()) == []  # the working directory: no export, no database


def test_a_dotenv_not_in_utf8_is_one_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"EWO_PA_THRESHOLD=\xff\xfe\n")
    out, err = io.StringIO(), io.StringIO()

    code = main(["officers", "list"], CliEnv(settings_factory=load_settings, out=out, err=err))

    assert (code, out.getvalue()) == (1, "")
    assert err.getvalue() == "cannot read ./.env: save it as UTF-8 text\n"
