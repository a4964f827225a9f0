"""/visit — record a visit step by step; Correct (`vc:`). /cancel and /due are
bot/handlers/cancel.py and bot/handlers/due.py.

The conversation lives in the `conversations` table (kind "visit") and is written at
every step, so a crash, a restart or a PIN lock resumes it where it was. Its buttons
carry the conversation's token and step, `v:<token>:<step>:<choice>`: only the buttons
of the draft's current step work; any other is stale. Every press and every typed
answer re-checks that the pupil is still allocated to this officer. The flow is drawn
in visit.mmd beside this package.

Split the way aiogram_dialog splits a dialog, on the shared draft-backed parts of
bot/handlers/drafts.py:

- texts.py: every word shown, and the flow's `VISIT` row;
- screens.py: pure, the draft in, text and buttons out;
- steps.py: what a press or a typed answer does to the draft, and the Save press;
- start.py: /visit, the card's Record visit and Correct, on the start every flow
  shares (drafts.py: the command, the resume prompt, the reminder after a PIN);
- save.py: the save's one write transaction.

The handlers the composition root registers, and the texts tests compare with, are
importable from here.
"""

from __future__ import annotations

from bot.handlers.cancel import cancel_command
from bot.handlers.due import due_command
from bot.handlers.visit.start import correct_button, visit_command
from bot.handlers.visit.steps import on_button, on_text
from bot.handlers.visit.texts import *  # noqa: F403 - the visit's words, as tests read them

__all__ = ["cancel_command", "correct_button", "due_command", "on_button", "on_text",
           "visit_command"]
