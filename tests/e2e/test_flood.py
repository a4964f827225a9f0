"""One chat's backlog never holds up another's: an officer's reply is not delayed by a
flood from any other chat (real bot, real rate limiter, through the stand-in)."""

from __future__ import annotations

from bot.handlers import pupils
from bot.harness import RunningBot
from tests.e2e.conftest import People

FLOOD = 150


async def test_a_flood_of_searches_from_one_officer_does_not_delay_another(
        running: RunningBot, people: People) -> None:
    flooder = await people.enrolled("EWO1")
    other = await people.enrolled("EWO2")
    for number in range(FLOOD):
        await flooder.send(f"Nobody{number}")
    await other.send("/help")  # queued behind the whole flood
    assert "/pupils" in (await other.next_message(timeout=10)).text
    answered_first = len(flooder.history)
    # Before the fix the update waited for a slot behind all but 64 of the flood.
    assert answered_first < FLOOD // 3, f"/help came after {answered_first} flood replies"
    for _ in range(FLOOD):
        assert (await flooder.next_message(timeout=20)).text == pupils.NOT_FOUND
