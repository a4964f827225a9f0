"""The kinds of multi-step conversation, as the `conversations` table stores them.

Named once here, so the feature that opens a conversation, the registry row that
routes its answers (bot/handlers/registry.py) and the sweep that discards expired
drafts all say the same kind. A new conversation is a member here and a row there.
"""

from __future__ import annotations

from enum import StrEnum


class ConversationKind(StrEnum):
    VISIT = "visit"  # recording a visit (bot/handlers/visit/)
    STEP = "step"  # recording an attendance-pathway step or outcome (bot/handlers/step/)
    HOLD = "hold"  # placing a legal hold on a record (bot/handlers/retention.py)
    PIN_SETUP = "pin_setup"  # choosing a PIN at enrolment (bot/handlers/access.py)
