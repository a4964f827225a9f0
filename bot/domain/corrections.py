"""How long a saved entry stays correctable by its author: visits (PRODUCT.md), pathway
steps and outcomes, and sharing decisions (CASEWORK.md: "as with visits"). A correction
is a new entry superseding the old one; nothing is edited in place."""

from __future__ import annotations

from datetime import datetime, timedelta

CORRECTION_WINDOW = timedelta(days=7)


def correctable(saved_at: datetime, now: datetime) -> bool:
    """Whether an entry saved at `saved_at` may still be corrected by its author."""
    return now - saved_at < CORRECTION_WINDOW
