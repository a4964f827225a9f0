"""Drills: the bot answers only in the sender's own private chat, and a PIN hash costs an
attacker with the database and the pepper what it costs the bot.

own-chat: an enrolled officer writes about their own pupil from places that are not
their private chat with the bot (another person's private chat, as a forged or
business-mode client would; a group) and presses a card button there; nothing about
anyone is sent anywhere, no pupil is shown (no card view audited), the group is left.

pin-cost: new PIN hashes use the production cost (scrypt N=2^17, r=8, p=1: 128 MiB a
guess); a hash made at the old, cheaper cost still verifies and is handed back at the
production cost to store. At full size one production hash is timed (a figure, not a
pass mark: speed belongs to the benchmarks) and the cost of trying every 4-digit PIN
is printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.drills.common import Drill, Size, count
from bench.drills.stage import Service, made_up_pupil
from bot.clock import FixedClock
from bot.domain import pinhash
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn

MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))
OFFICER_USER, THIRD_PARTY_USER, GROUP_CHAT = 6100, 6199, -6100
OLD_COST = pinhash.PinCost(2**14, 8, 1)  # the first build's scrypt cost
PIN = "2580"


async def own_chat_drill(folder: Path, size: Size, *,
                         out: Callable[[str], None] = print) -> Drill:
    """Messages and presses from chats that are not the sender's own: nothing shown."""
    drill = Drill("only the sender's own private chat", out)
    service = await Service.open(folder, MORNING)
    try:
        await service.add_officer("EWO1")
        await service.enrol("EWO1", OFFICER_USER)
        (pupil,) = await service.add_pupils([made_up_pupil(1, "EWO1")])
        async with BotApiStandIn() as standin:
            officer = standin.user(OFFICER_USER, "EWO1")
            third_party = standin.user(THIRD_PARTY_USER, "Parent")
            group = standin.group(GROUP_CHAT, "Parents' group")
            async with RunningBot(service.settings, standin, clock=FixedClock(MORNING),
                                  db=service.db) as bot:
                probes = [pupil.name, pupil.upn, "/pupils", f"/pupil {pupil.last_name}",
                          "/due", "/help"]
                drill.tried(f"{len(probes)} messages naming the officer's own pupil (and "
                            "commands) in a third party's private chat, and the same in a "
                            "group the bot was added to")
                for text in probes:
                    await officer.send_in(third_party, text)
                    await group.send(officer, text)
                await bot.settled()
                shown = [m.text for chat in (officer, third_party) for m in chat.history]
                drill.check(shown == [], "nothing was sent to the officer or the third party",
                            lambda: f"{len(shown)} messages were sent: {shown[:2]}")
                said = [m.text for m in group.history]
                drill.check(GROUP_CHAT in standin.left_chats and all(
                    pupil.last_name not in (text or "") for text in said),
                    "the bot left the group and named no one there",
                    lambda: f"in the group the bot said {said[:2]}")
        views = count(service.settings.database,
                      "SELECT count(*) FROM audit WHERE action IN"
                  " ('pupil_card', 'pupil_details', 'pupil_list')")
        drill.check(views == 0, "no card, details or list view in the audit trail",
                    f"{views} card, details or list views were audited")
    finally:
        await service.close()
    return drill


async def pin_cost_drill(folder: Path, size: Size, *,
                         out: Callable[[str], None] = print) -> Drill:
    """The production PIN cost, and an old hash upgraded at the next right PIN."""
    drill = Drill("PIN hashing cost", out)
    pepper = b"p" * 32
    in_effect = pinhash.cost_in_effect()
    pinhash.use_cost(pinhash.PRODUCTION_COST)
    try:
        drill.tried("a PIN hashed at the old cost (scrypt N=2^14), then the right PIN")
        old = pinhash.hash_pin(PIN, pepper, OLD_COST)
        checked = pinhash.check_pin(PIN, old, pepper)
        drill.check(checked.right and checked.rehashed is not None,
                    "the old hash verifies and a new hash comes back to store",
                    "the old hash was not verified or not upgraded")
        new = checked.rehashed or ""
        cost = new.split("$")[1:4]
        production = pinhash.PRODUCTION_COST
        drill.check(cost == [str(production.n), str(production.r), str(production.p)],
                    f"the new hash names the production cost (N={production.n}, "
                    f"r={production.r}, p={production.p}, {production.memory >> 20} MiB)",
                    f"the new hash names {cost}")
        drill.check(not pinhash.check_pin("2581", new, pepper).right,
                    "a wrong PIN does not verify against it", "a wrong PIN verified")
        if size.name == "full":
            started = time.perf_counter()
            pinhash.verify_pin(PIN, new, pepper)
            seconds = time.perf_counter() - started
            drill.note(f"one guess took {seconds:.2f} s here: every 4-digit PIN would take "
                       f"{seconds * 10_000 / 60:.0f} core-minutes")
    finally:
        pinhash.use_cost(in_effect)
    return drill
