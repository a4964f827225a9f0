"""Service settings: environment (prefix EWO_), then ./.env, then built-in defaults.

An empty value means *none*, never *the default*; a bad value stops start-up with
one line naming the setting (see :func:`load_settings`).
"""

from __future__ import annotations

import codecs
import ipaddress
import os
import re
import socket
from collections.abc import Callable
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.dates import WEEKDAYS, QuietHours, YearEnd, parse_quiet_days, parse_weekly
from bot.files import os_reason

# Shipped defaults live beside the package, never relative to the working directory.
PACKAGE_DIR = Path(__file__).resolve().parent
# 32 bytes of randomness as URL-safe text (secrets.token_urlsafe(32)) at the least.
MIN_PEPPER_CHARS = 43
# What Telegram accepts as a webhook's secret_token.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
INSTANCE_NAME = re.compile(r"[A-Za-z0-9._:-]{1,100}")
# The secret settings. Each may instead be given as EWO_<NAME>_FILE (SCALE.md "Settings"),
# read once as the settings are read (see Settings._secrets_from_files): whatever uses a
# secret, and whatever hides it from logs and error output, sees the same value from
# either source. Every value is stripped of surrounding whitespace, from either source.
SECRET_SETTINGS = ("telegram_token", "database_key", "database_url", "audit_key",
                   "pin_pepper", "webhook_secret")


class SettingsError(Exception):
    """A setting has a bad value; str() is one line naming the setting."""


class DatabaseUrl:
    """EWO_DATABASE_URL: a libpq URL (`postgresql://USER:PASSWORD@HOST:PORT/DB?sslmode=…`)
    whose password never prints: str() and repr() show it as `***`, as SecretStr does for
    a whole value, so logs and `ewobot status` can still name the host and database."""

    __slots__ = ("_url",)

    def __init__(self, url: str) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("postgresql", "postgres") or not parts.netloc + parts.path:
            # The value is never echoed: it holds a password.
            raise ValueError("expected postgresql://USER:PASSWORD@HOST:PORT/DB")
        self._url = url.strip()

    def get_secret_value(self) -> str:
        """The whole URL, password included, for the database driver only."""
        return self._url

    @property
    def password(self) -> str | None:
        parts = urlsplit(self._url)
        query = dict(parse_qsl(parts.query))
        return parts.password or query.get("password")

    @property
    def passwords(self) -> tuple[str, ...]:
        """Every password the URL gives (the user's and a `password=` parameter), as
        written and %-decoded, longest first: what an error text must not show."""
        parts = urlsplit(self._url)
        given = [parts.password or "", *(value for key, value in
                                         parse_qsl(parts.query, keep_blank_values=True)
                                         if key == "password")]
        raw = [part.split("=", 1)[1] for part in parts.query.split("&")
               if part.startswith("password=")]
        found = {text for value in (*given, *raw) for text in (value, unquote(value)) if text}
        return tuple(sorted(found, key=len, reverse=True))

    @property
    def redacted(self) -> str:
        parts = urlsplit(self._url)
        netloc = parts.netloc
        if parts.password is not None:
            userinfo, _, host = netloc.rpartition("@")
            netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
        query = urlencode([(key, "***" if key == "password" else value)
                           for key, value in parse_qsl(parts.query)], safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

    def __str__(self) -> str:
        return self.redacted

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.redacted!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DatabaseUrl) and other._url == self._url

    def __hash__(self) -> int:
        return hash(self._url)


class Settings(BaseSettings):
    """Every EWO_ setting of the product contract, typed and validated."""

    model_config = SettingsConfigDict(
        env_prefix="EWO_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,
        validate_default=True,
        frozen=True,
        arbitrary_types_allowed=True,
    )

    telegram_token: SecretStr | None = None
    telegram_token_file: Path | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    database: Path = Path("data/ewo.sqlite3")
    database_key: SecretStr | None = None
    database_key_file: Path | None = None
    database_url: Annotated[DatabaseUrl | None, NoDecode] = None
    database_url_file: Path | None = None
    audit_key: SecretStr | None = None
    audit_key_file: Path | None = None
    pin_pepper: SecretStr | None = None
    pin_pepper_file: Path | None = None
    timezone: Annotated[ZoneInfo, NoDecode] = "Europe/London"  # type: ignore[assignment]
    academic_year_end: Annotated[YearEnd, NoDecode] = "08-31"  # type: ignore[assignment]
    pa_threshold: int = Field(90, gt=0, lt=100)
    sa_threshold: int = Field(50, gt=0, lt=100)
    alert_min_sessions: int = Field(20, ge=0)
    continuous_absence_sessions: int = Field(20, ge=1)
    session_idle_minutes: int = Field(30, ge=1)
    session_max_hours: int = Field(12, ge=1)
    enrolment_code_hours: int = Field(24, ge=1)
    sensitive_message_minutes: int = Field(15, ge=0, le=2820)
    quiet_hours: Annotated[QuietHours | None, NoDecode] = "20:00-07:30"  # type: ignore[assignment]
    quiet_days: Annotated[frozenset[int], NoDecode] = "SAT,SUN"  # type: ignore[assignment]
    retention_notice_days: int = Field(30, ge=0)
    retention_check_time: Annotated[time, NoDecode] = "09:00"  # type: ignore[assignment]
    caseload_digest: Annotated[tuple[int, time] | None, NoDecode] = "MON 08:00"  # type: ignore[assignment]
    outbox_poll_seconds: float = Field(5, gt=0)
    export_dir: Path = Path("data/exports")
    controller_name: str = "the data controller"
    training_valid_months: int = Field(12, ge=1)
    dbs_recheck_months: int = Field(36, ge=0)
    compliance: Literal["enforce", "warn", "off"] = "enforce"
    webhook_url: str | None = None
    webhook_listen: Annotated[tuple[str, int], NoDecode] = "127.0.0.1:8080"  # type: ignore[assignment]
    webhook_secret: SecretStr | None = None
    webhook_secret_file: Path | None = None
    instance_name: str = Field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    # Renewed every third of it, so a stopped holder is replaced within 4/3 of it (≤ 60 s).
    job_lease_seconds: float = Field(30, ge=1, le=45)

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: Any) -> Any:
        """Each secret given as EWO_<NAME>_FILE read in its place, under the key-file rules
        (read_secret_file) and held to the setting's own check; both given is refused."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name in SECRET_SETTINGS:
            setting, file = f"EWO_{name.upper()}", _given(data.get(f"{name}_file"))
            if file is None:
                continue
            if _given(data.get(name)) is not None:
                raise ValueError(f"{setting} and {setting}_FILE are both set: keep one")
            data[name] = text = read_secret_file(Path(file), f"{setting}_FILE")
            check = SECRET_CHECKS.get(name)
            try:
                if check is not None:
                    check(text)
            except ValueError as exc:  # the check's reason, never the secret
                raise SettingsError(f"{setting}_FILE: {file}: {exc}") from None
        return data

    @field_validator(*(name for name in SECRET_SETTINGS if name != "database_url"),
                     mode="before")  # a DatabaseUrl strips itself
    @classmethod
    def _secret_stripped(cls, value: Any) -> Any:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator(*(f"{name}_file" for name in SECRET_SETTINGS), "webhook_url",
                     mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return _given(value)

    @field_validator("database", "export_dir", mode="before")
    @classmethod
    def _path_named(cls, value: Any, info: ValidationInfo) -> Any:
        # Empty means none, and there is no running without these: Path("") would be
        # the working directory (SAR exports written there, a traceback for the database).
        if isinstance(value, str) and not value.strip():
            what = "a file" if info.field_name == "database" else "a folder"
            raise ValueError(f"must name {what}")
        return value

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: Any) -> DatabaseUrl | None:
        if value is None or isinstance(value, DatabaseUrl):
            return value
        text = str(value)
        return DatabaseUrl(text) if text.strip() else None

    @field_validator("pin_pepper", "webhook_secret")
    @classmethod
    def _secret_checked(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None:
            SECRET_CHECKS[info.field_name](value.get_secret_value())  # type: ignore[index]
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _public_url(value.strip()):
            raise ValueError("expected an https:// URL such as https://bot.example.org/telegram "
                             "(http:// only to a loopback address)")
        return value.strip()

    @field_validator("webhook_listen", mode="before")
    @classmethod
    def _listen(cls, value: Any) -> tuple[str, int]:
        if isinstance(value, tuple):
            return value
        host, _, port = str(value).strip().rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError("expected HOST:PORT such as 127.0.0.1:8080 or [::1]:8080")
        return host, int(port)

    @field_validator("instance_name")
    @classmethod
    def _instance_name(cls, value: str) -> str:
        if not INSTANCE_NAME.fullmatch(value.strip()):
            raise ValueError("must be 1 to 100 of A-Z, a-z, 0-9, '.', ':', '_' and '-' "
                             "(unset: HOSTNAME:PID)")
        return value.strip()

    @field_validator("timezone", mode="before")
    @classmethod
    def _zone(cls, value: Any) -> ZoneInfo:
        if isinstance(value, ZoneInfo):
            return value
        try:
            return ZoneInfo(str(value).strip())
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("not a known time zone, e.g. Europe/London") from exc

    @field_validator("academic_year_end", mode="before")
    @classmethod
    def _year_end(cls, value: Any) -> YearEnd:
        if isinstance(value, YearEnd):
            return value
        try:
            return YearEnd.parse(str(value).strip())
        except ValueError as exc:
            raise ValueError("expected MM-DD, a real date other than 02-29") from exc

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _quiet_hours(cls, value: Any) -> QuietHours | None:
        if value is None or isinstance(value, QuietHours):
            return value
        text = str(value).strip()
        if not text:
            return None
        try:
            return QuietHours.parse(text)
        except ValueError as exc:
            raise ValueError("expected HH:MM-HH:MM, or empty for none") from exc

    @field_validator("quiet_days", mode="before")
    @classmethod
    def _quiet_days(cls, value: Any) -> frozenset[int]:
        if isinstance(value, frozenset):
            return value
        try:
            days = parse_quiet_days(str(value))
        except ValueError as exc:
            raise ValueError("expected day names like SAT,SUN, or empty for none") from exc
        if len(days) == len(WEEKDAYS):
            raise ValueError("every day is quiet, so no pushed message could ever be sent;"
                             " leave at least one day out")
        return days

    @field_validator("retention_check_time", mode="before")
    @classmethod
    def _check_time(cls, value: Any) -> time:
        if isinstance(value, time):
            return value
        try:
            return time.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise ValueError("expected HH:MM") from exc

    @field_validator("caseload_digest", mode="before")
    @classmethod
    def _digest(cls, value: Any) -> tuple[int, time] | None:
        if value is None or isinstance(value, tuple):
            return value
        text = str(value).strip()
        if not text:
            return None
        try:
            return parse_weekly(text)
        except ValueError as exc:
            raise ValueError("expected DAY HH:MM such as MON 08:00, or empty for none") from exc

    @model_validator(mode="after")
    def _bands_nest(self) -> Settings:
        if not self.sa_threshold < self.pa_threshold:
            raise ValueError("EWO_SA_THRESHOLD must be below EWO_PA_THRESHOLD")
        return self

    @model_validator(mode="after")
    def _webhook_has_secret(self) -> Settings:
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError("EWO_WEBHOOK_SECRET (or EWO_WEBHOOK_SECRET_FILE) is required "
                             "with EWO_WEBHOOK_URL")
        return self

    def webhook_secret_text(self) -> str:
        """The webhook's secret, from EWO_WEBHOOK_SECRET or its file (SettingsError when
        neither is set)."""
        if self.webhook_secret is None:
            raise SettingsError("EWO_WEBHOOK_SECRET is not set")
        return self.webhook_secret.get_secret_value()

    @model_validator(mode="after")
    def _shared_secrets_with_postgres(self) -> Settings:
        # Several instances share one PostgreSQL database and no file sits beside it,
        # so the secrets cannot be generated: every instance must be given the same.
        if self.database_url is None:
            return self
        for name, value in (("AUDIT_KEY", self.audit_key), ("PIN_PEPPER", self.pin_pepper)):
            if value is None:  # a file given was read into it (_secrets_from_files)
                raise ValueError(f"EWO_{name} (or EWO_{name}_FILE) is required with "
                                 "EWO_DATABASE_URL, the same on every instance")
        return self

    @property
    def audit_key_path(self) -> Path:
        """Where the audit key is read from when EWO_AUDIT_KEY is unset: EWO_AUDIT_KEY_FILE,
        else a key generated beside the database, never inside it."""
        return self.audit_key_file or self.database.with_name(self.database.name + ".audit-key")

    @property
    def pepper_path(self) -> Path:
        """Where the PIN pepper is read from when EWO_PIN_PEPPER is unset: EWO_PIN_PEPPER_FILE,
        else one generated beside the database (outside it, so a stolen file is not enough)."""
        return self.pin_pepper_file or self.database.with_name(self.database.name + ".pepper")


def _given(value: Any) -> Any:
    """A setting's value, or None when it is unset or empty (empty means none)."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _check_pepper(text: str) -> None:
    if len(text.strip()) < MIN_PEPPER_CHARS:
        raise ValueError(f"must be at least {MIN_PEPPER_CHARS} characters of randomness, "
                         "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'")


def _check_webhook_secret(text: str) -> None:
    if not WEBHOOK_SECRET.fullmatch(text.strip()):
        raise ValueError("must be 1 to 256 of A-Z, a-z, 0-9, _ and -")


# What a secret's value must be, whether given in the setting or in its file (ValueError
# with the reason, which never holds the value).
SECRET_CHECKS: dict[str, Callable[[str], object]] = {
    "database_url": DatabaseUrl,
    "pin_pepper": _check_pepper,
    "webhook_secret": _check_webhook_secret,
}


def _public_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if not host or " " in url:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and (host == "localhost" or _loopback(host))


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OpenToOthers(PermissionError):
    """A private file that group or others can read; `mode` is its permission bits."""

    def __init__(self, path: Path, mode: int) -> None:
        super().__init__(f"{path} can be read by group or others (mode {mode:04o})")
        self.mode = mode


def read_private_file(path: Path) -> bytes:
    """What a secret's file holds, refused (OpenToOthers) unless only its owner can read
    it: the one check for every key, pepper and secret kept in a file. A leading UTF-8
    byte-order mark is an editor's, not the secret's: dropped, so the file gives the same
    secret as the setting would. A missing file is FileNotFoundError; each caller words
    the problems for its own setting."""
    mode = path.stat().st_mode
    if mode & 0o077:
        raise OpenToOthers(path, mode & 0o7777)
    return path.read_bytes().removeprefix(codecs.BOM_UTF8)


def read_secret_file(path: Path, setting: str) -> str:
    """A secret from a file named by a setting: it must exist, be non-empty and be
    readable by its owner only (systemd credentials, container secrets)."""
    try:
        text = read_private_file(path).decode("utf-8").strip()
    except FileNotFoundError:
        raise SettingsError(f"{setting}: no such file {path}") from None
    except OpenToOthers as refused:
        raise SettingsError(f"{setting}: refused: {path} can be read by group or others "
                            f"(mode {refused.mode:04o}); chmod 600 it") from None
    except OSError as exc:  # a folder, or a file it may not read
        raise SettingsError(f"{setting}: cannot read {path}: {os_reason(exc)}") from None
    except UnicodeDecodeError:  # never echoed: it is a secret
        raise SettingsError(f"{setting}: cannot read {path}: not UTF-8 text") from None
    if not text:
        raise SettingsError(f"{setting}: {path} is empty")
    return text


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning a validation failure into one line naming the setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None
    except UnicodeDecodeError:  # pydantic-settings reading ./.env
        raise SettingsError("cannot read ./.env: save it as UTF-8 text") from None
    except OSError as exc:
        raise SettingsError(f"cannot read ./.env: {os_reason(exc)}") from None


def _one_line(exc: ValidationError) -> str:
    error = exc.errors(include_input=False)[0]
    where = [str(part) for part in error.get("loc", ()) if part != "__root__"]
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if where:
        return f"EWO_{where[0].upper()}: {message}"
    return message
