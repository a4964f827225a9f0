"""/step — record an attendance-pathway step or outcome step by step (CASEWORK.md §1).

The conversation lives in the `conversations` table (kind "step") and is written at
every step, so a crash, a restart or a PIN lock resumes it where it was. Its buttons
carry the conversation's token and step, `st:<token>:<step>:<choice>`: only the
buttons of the draft's current step work; any other is stale. A visit whose agreed
action is Attendance contract or Notice to improve offers Record it now,
`st:new:<pupil_id>:<what>`. The flow is drawn in step.mmd beside this package.

Split like bot/handlers/visit/ on bot/handlers/drafts.py; the step table is pure, in
bot/domain/step_flow.py:

- texts.py: every word shown, and the flow's `STEP` row;
- screens.py: pure, the draft and the pupil's record in, text and buttons out;
- steps.py: what a press or a typed answer does to the draft, and the Save press;
- start.py: /step and Record it now, on the start every flow shares (drafts.py);
- correct.py: Correct under a saved entry (`stc:<step|outcome>:<entry_id>`), a new
  draft superseding it;
- save.py: the draft read as the entry the use case saves.
"""

from __future__ import annotations

from bot.handlers.step.correct import correct_button
from bot.handlers.step.start import step_command
from bot.handlers.step.steps import on_button, on_text
from bot.handlers.step.texts import *  # noqa: F403 - the step's words, as tests read them

__all__ = ["correct_button", "on_button", "on_text", "step_command"]
