"""Driving the chat as a person would, robust to what a fault leaves behind: a visit
pressed through to Save (continuing a draft a crash left), a disposal confirmed, late
messages from a killed process skipped."""

from __future__ import annotations

import time

from bot.domain import visit_flow as flow
from bot.handlers import drafts, visit
from bot.handlers import retention_texts as retention_handlers
from bot.handlers.common import SENSITIVE_PLACEHOLDER
from bot.sandbox import BotMessage, FakeUser

REPLY = 10.0  # seconds an answer may take from a busy child process

# What a recording officer presses at each step of /visit.
VISIT_PRESSES = {
    flow.TYPE: "Home visit", flow.DATE: "Today", flow.CONTACT: "Parent/carer seen",
    flow.REASON: "Illness", flow.ACTION: "No further action", flow.FOLLOW_UP: "None",
    flow.NOTES: "Skip", flow.SUMMARY: "Save",
}
_SAVED = visit.SAVED.split("{", 1)[0]
_RESUME = visit.RESUME.split("{", 1)[0]


def visit_press(message: BotMessage) -> str | None:
    """The label to press on this screen of /visit, or None when it is not one."""
    text = message.text or ""
    if text.startswith(_RESUME):
        return drafts.LABEL_CONTINUE
    for step, label in VISIT_PRESSES.items():
        if text.endswith(visit.QUESTIONS[step]) and label in message.labels():
            return label
    return None


async def record_one_visit(user: FakeUser, upn: str, *, timeout: float = REPLY,  # noqa: ASYNC109
                           timings: list[float] | None = None) -> bool:
    """/visit UPN and press through every step to Save (continuing a draft left by a
    crash). True once the chat shows the visit saved. Each answer's wait is added to
    `timings` (seconds)."""
    started = time.perf_counter()
    await user.send(f"/visit {upn}")
    shown = await next_reply(user, timeout)
    for _ in range(2 * len(VISIT_PRESSES)):
        if timings is not None:
            timings.append(time.perf_counter() - started)
        label = visit_press(shown)
        if label is None:
            return (shown.text or "").startswith(_SAVED)
        started = time.perf_counter()
        press = await user.press(label, message_id=shown.message_id)
        await user.answer_to(press, timeout=timeout)  # the screen is edited before this
        shown = as_shown(user, shown)
    return False


async def visit_up_to(user: FakeUser, upn: str, step: str, *,
                      timeout: float = REPLY) -> BotMessage:  # noqa: ASYNC109
    """/visit UPN and press the usual answers until the screen asks for `step`."""
    await user.send(f"/visit {upn}")
    shown = await next_reply(user, timeout)
    while not (shown.text or "").endswith(visit.QUESTIONS[step]):
        label = visit_press(shown)
        if label is None:
            raise LookupError(f"no visit step on screen: {shown.text!r:.80}")
        press = await user.press(label, message_id=shown.message_id)
        await user.answer_to(press, timeout=timeout)
        shown = as_shown(user, shown)
    return shown


def is_pushed(message: BotMessage) -> bool:
    """An alert or reminder from the outbox, not an answer to what the person sent."""
    return any(button.data and (button.data.startswith("al:") or button.data == "ret:open")
               for row in message.buttons for button in row)


async def next_reply(user: FakeUser, timeout: float) -> BotMessage:  # noqa: ASYNC109
    """The next message that answers the person, past any pushed message; a sensitive
    one as shown once its placeholder is edited into the text."""
    while True:
        message = await user.next_message(timeout=timeout)
        if message.text == SENSITIVE_PLACEHOLDER:
            return await user.edited(message, timeout=timeout)
        if not is_pushed(message):
            return message


def as_shown(user: FakeUser, message: BotMessage) -> BotMessage:
    """The message as the chat shows it now (LookupError once deleted)."""
    for shown in user.history:
        if shown.message_id == message.message_id:
            return shown
    raise LookupError(f"message {message.message_id} is gone")


async def dispose_one(user: FakeUser, *, timeout: float = REPLY) -> str | None:  # noqa: ASYNC109
    """/retention, Dispose the first record offered, confirm. The case reference once the
    chat shows it disposed of; None when nothing is offered."""
    await user.send("/retention")
    overview = await next_from(user, retention_handlers.TITLE, timeout)
    labels = [label for label in overview.labels()
              if label.startswith("Dispose ") and not label.startswith("Dispose all")]
    if not labels:
        return None
    press = await user.press(labels[0], message_id=overview.message_id)
    await user.answer_to(press, timeout=timeout)
    confirm = await next_from(user, retention_handlers.CONFIRM_ONE, timeout)
    yes = next(label for label in confirm.labels() if label != retention_handlers.KEEP)
    await skip_events(user)
    await user.press(yes, message_id=confirm.message_id)
    shown = await until_edited(user, confirm.message_id, timeout)  # answered before the edit
    if retention_handlers.DISPOSED.split("}", 1)[1] not in (shown.text or ""):
        return None
    return labels[0].removeprefix("Dispose ").strip()


async def next_from(user: FakeUser, template: str, timeout: float) -> BotMessage:  # noqa: ASYNC109
    """The next message made from `template`, past any pushed message (a reminder)."""
    start = template.split("{", 1)[0]
    while True:
        message = await user.next_message(timeout=timeout)
        if (message.text or "").startswith(start):
            return message


async def drain(user: FakeUser) -> None:
    """Skip what a killed process sent late: it answers nothing asked from now on."""
    while True:
        try:
            await user.next_message(timeout=0)
        except TimeoutError:
            return


async def skip_events(user: FakeUser) -> None:
    while True:
        try:
            await user.next_event(timeout=0)
        except TimeoutError:
            return


async def until_edited(user: FakeUser, message_id: int, timeout: float) -> BotMessage:  # noqa: ASYNC109
    """The message once the bot has edited it."""
    while True:
        event = await user.next_event(timeout=timeout)
        if event.kind == "edited" and event.message_id == message_id and event.message:
            return event.message
