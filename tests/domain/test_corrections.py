"""The correction window every flow shares: 7 days from the save (PRODUCT.md, CASEWORK.md)."""

from datetime import UTC, datetime, timedelta

from bot.domain.corrections import correctable


def test_correction_window_is_seven_days() -> None:
    saved = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
    assert correctable(saved, saved + timedelta(days=7, seconds=-1))
    assert not correctable(saved, saved + timedelta(days=7))
