"""/share — record a decision to share information with another agency, or not to
(CASEWORK.md §2), step by step.

The conversation lives in the `conversations` table (kind "share") and is written at
every step, so a crash, a restart or a PIN lock resumes it where it was. Its buttons
carry the conversation's token and step, `sh:<token>:<step>:<choice>`: only the
buttons of the draft's current step work. Every press and every typed answer re-checks
that the pupil is still allocated to this officer. The flow is drawn in share.mmd.

Split like /visit (bot/handlers/visit/), on bot/handlers/drafts.py; the step table is
pure, in bot/domain/sharing.py:

- texts.py: every word shown, and the flow's `SHARE` row;
- screens.py: pure, the draft in, text and buttons out;
- steps.py: what a press or a typed answer does to the draft, and the Save press;
- start.py: /share and Correct (`shc:<entry_id>`), on the start every flow shares
  (drafts.py: the command, the resume prompt, the reminder after a PIN);
- save.py: the draft read as a NewSharing (the save is bot/usecases/sharing.py).
"""

from __future__ import annotations

from bot.handlers.share.start import correct_button, share_command
from bot.handlers.share.steps import on_button, on_text
from bot.handlers.share.texts import CANCELLED, CORRECT_PREFIX, PREFIX

__all__ = ["CANCELLED", "CORRECT_PREFIX", "PREFIX", "correct_button", "on_button", "on_text",
           "share_command"]
