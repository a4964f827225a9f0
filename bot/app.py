"""The composition root: builds the Application, registers every handler and job.

Handler groups, in the order they run for each update:
  -1  the gate (access.gate): private chats only, resolves and authorises the person,
      keeps the PIN lock; it raises ApplicationHandlerStop for anything it refuses.
      It also refuses a command or button outside the person's role (the registry).
   0  commands, buttons (by callback-data prefix) and typed text, one handler per row
      of bot/handlers/registry.py; the first match wins, so the catch-alls (unknown
      command, stale button) are added last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    JobQueue,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.chat.restriction import refuse_restricted
from bot.clock import Clock
from bot.handlers import access, router
from bot.handlers.common import REGISTRY_KEY, SERVICES_KEY, Context, EwoContext, Services, answer
from bot.handlers.registry import REGISTRY
from bot.handlers.table import Registry
from bot.jobs import digest, pathway_reminders, sweeper, visit_drafts
from bot.jobs import outbox as outbox_jobs
from bot.jobs import retention as retention_jobs
from bot.jobs.leader import LEASE_KEY, NAME_LOST_KEY, STOP_KEY, JobLease
from bot.jobs.send_budget import SendBudget
from bot.logs import pin_library_loggers
from bot.processing import PerChatUpdateProcessor, RateLimiter, ServiceBot
from bot.settings import Settings
from bot.storage import meta
from bot.storage.audit import Appender
from bot.storage.chatlocks import ChatLocks, chat_locks
from bot.storage.db import Database, DatabaseBusy, load_pepper
from bot.storage.rights import Restricted

log = logging.getLogger(__name__)
START_JOBS_KEY = "ewo.start_jobs"  # bot_data: the jobs run at start, and on taking the lease
LEASE_TASK_KEY = "ewo.lease_task"  # bot_data: the task renewing the jobs lease
BUDGET_KEY = "ewo.send_budget"  # bot_data: (SendBudget, the task refreshing it)
CHAT_LOCKS_KEY = "ewo.chat_locks"  # bot_data: each chat's lock in the database (several instances)
JobCallback = Callable[[Context], Coroutine[Any, Any, None]]

# What the bot asks Telegram for (getUpdates' allowed_updates): the types the gate lets
# through, nothing else (business messages, inline queries, channel posts never come).
ALLOWED_UPDATES = list(access.UPDATE_TYPES)

UNKNOWN_COMMAND = "I don't know that command. Send /help to see what you can do."
STALE = "That button no longer works. Send the command again."
SOMETHING_WRONG = "Something went wrong on our side (ref {ref}). Please try again."
# The database stayed busy past its wait (an import or backup holding it): the write it
# stopped saved nothing, so the same message or press can simply be sent again.
BUSY = "The service is busy just now. Please try again in a moment."

# Requests to Telegram share this many connections. The rate limiter lets about 30
# through a second and Telegram answers in a few hundred milliseconds, so a handful are
# busy at once. The library's 256 leaves dozens idle under load, and httpx checks every
# idle connection's socket before each request: 8 made cards about a tenth faster
# (bench/findings.md).
CONNECTIONS = 8
# How long a request waits for a free connection (a burst, a large file going out)
# before it fails: the library's 1 s would turn a short queue into errors.
CONNECTION_WAIT_SECONDS = 10.0


@dataclass
class Wiring:
    """What the composition root was given: for tests and the demo to reach in."""

    settings: Settings
    clock: Clock
    db: Database | None = None  # opened here when not given; closed here when opened here


def build_application(settings: Settings, *, clock: Clock | None = None,
                      db: Database | None = None,
                      rate_limiter: BaseRateLimiter | None = None,
                      polling: bool = True, registry: Registry = REGISTRY) -> Application:
    """Everything wired; nothing started. `db` given by a caller stays the caller's to close.

    `polling=False` builds no Updater: updates come from the webhook server (bot/webhook.py).
    `registry` is the bot's own table of commands unless a test gives another."""
    if settings.telegram_token is None:
        raise ValueError("EWO_TELEGRAM_TOKEN is not set")
    pin_library_loggers()  # whoever configured logging, these never log requests in full
    wiring = Wiring(settings, clock or Clock(settings.timezone), db)
    service_bot = ServiceBot(
        settings.telegram_token.get_secret_value(),
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_api_url.replace("/bot", "/file/bot", 1),
        defaults=Defaults(tzinfo=settings.timezone, protect_content=True),
        rate_limiter=rate_limiter if rate_limiter is not None else RateLimiter(),
        request=HTTPXRequest(connection_pool_size=CONNECTIONS,
                             pool_timeout=CONNECTION_WAIT_SECONDS),
        get_updates_request=HTTPXRequest(connection_pool_size=1))
    builder = (
        ApplicationBuilder()
        .bot(service_bot)
        .context_types(ContextTypes(context=EwoContext))
        .concurrent_updates(PerChatUpdateProcessor())
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if not polling:
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data["wiring"] = wiring
    register_handlers(application, registry)
    schedule_jobs(application)
    application.add_error_handler(_on_error)
    return application


def register_handlers(application: Application, registry: Registry = REGISTRY) -> None:
    """Every handler, in one visible place: the gate, then one per row of the registry."""
    application.bot_data[REGISTRY_KEY] = registry  # the gate, /help and the router read it
    application.add_handler(TypeHandler(Update, access.gate), group=-1)
    for command in registry.commands:
        application.add_handler(CommandHandler(command.name, command.handler), group=0)
    for button in registry.buttons:
        application.add_handler(
            CallbackQueryHandler(button.handler, pattern=f"^{button.prefix}:"), group=0)
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND, router.on_text), group=0)

    application.add_handler(MessageHandler(filters.COMMAND, _unknown_command), group=0)
    application.add_handler(CallbackQueryHandler(_stale_button), group=0)


def schedule_jobs(application: Application) -> None:
    """Due work lives in tables; these sweeps act on it once at start, then repeatedly.

    They run only on the instance holding the jobs lease (bot/jobs/leader.py): each job
    skips itself elsewhere, and an instance that takes the lease over runs them all at
    once, as at start."""
    jobs = application.job_queue
    assert jobs is not None
    settings: Settings = application.bot_data["wiring"].settings
    _at_start_and_every(jobs, sweeper.sweep_sensitive_messages, 60, "sensitive-messages")
    # Pushed messages written by any process; at start, a crash's leftovers go again.
    _at_start_and_every(jobs, outbox_jobs.deliver_due, settings.outbox_poll_seconds, "outbox",
                        at_start=outbox_jobs.deliver_at_start)
    _at_start_and_every(jobs, digest.digest_job, digest.INTERVAL_SECONDS, "caseload-digest")
    _at_start_and_every(jobs, pathway_reminders.reminder_job, pathway_reminders.INTERVAL_SECONDS,
                        pathway_reminders.NAME)
    _at_start_and_every(jobs, visit_drafts.discard_expired_drafts, 3600, "expired-visit-drafts")
    _at_start_and_every(jobs, retention_jobs.retention_job, retention_jobs.INTERVAL_SECONDS,
                        "retention-check")


def _at_start_and_every(jobs: JobQueue, callback: JobCallback, interval: float, name: str,
                        at_start: JobCallback | None = None) -> None:
    """Run once as soon as the bot starts, however late, then every `interval` seconds.

    A repeating job's `first=0` is already past when the scheduler starts, and
    APScheduler would move it a whole interval on (its misfire grace is one second):
    the start-up run is a one-off with no misfire limit.
    """
    jobs.run_once(at_start or callback, when=0, name=f"{name}-start",
                  job_kwargs={"misfire_grace_time": None})
    jobs.application.bot_data.setdefault(START_JOBS_KEY, []).append((at_start or callback, name))
    jobs.run_repeating(callback, interval=interval, first=interval, name=name)


async def _post_init(application: Application) -> None:
    wiring: Wiring = application.bot_data["wiring"]
    db = wiring.db or await Database.open(wiring.settings)
    application.bot_data[SERVICES_KEY] = Services(db, wiring.settings, wiring.clock,
                                                load_pepper(wiring.settings), Appender(db))
    await db.write(meta.remember_bot_username, application.bot.username)
    processor = application.update_processor
    if isinstance(processor, PerChatUpdateProcessor):
        locks = application.bot_data[CHAT_LOCKS_KEY] = chat_locks(db)
        processor.use_locks(locks)
    if db.dialect != "sqlite":
        await _hold_the_jobs_lease(application, db, wiring.settings)
        _share_the_send_rate(application, db, wiring.settings)


async def _hold_the_jobs_lease(application: Application, db: Database,
                               settings: Settings) -> None:
    """Several instances may share this database: the jobs run on one (bot/jobs/leader.py).
    The instance's name is taken first (NameInUse, and no start, while another process
    runs under it); the first try at the lease is made before the jobs' start-up runs,
    which then find it held or not."""
    def taken() -> None:
        jobs = application.job_queue
        if jobs is None or not application.running:
            return
        for callback, name in application.bot_data.get(START_JOBS_KEY, []):
            jobs.run_once(callback, when=0, name=f"{name}-taken",
                          job_kwargs={"misfire_grace_time": None})

    def name_lost() -> None:  # another process runs under this name now: this one goes
        application.bot_data[NAME_LOST_KEY] = True
        stop: Callable[[], None] = application.bot_data.get(STOP_KEY,
                                                           application.stop_running)
        stop()

    lease = JobLease(db, settings.instance_name, seconds=settings.job_lease_seconds,
                     on_taken=taken, on_name_lost=name_lost)
    await lease.claim_name()
    await lease.renew()
    application.bot_data[LEASE_KEY] = lease
    application.bot_data[LEASE_TASK_KEY] = asyncio.create_task(lease.run(), name="jobs lease")


def _share_the_send_rate(application: Application, db: Database, settings: Settings) -> None:
    """Several instances may send for this bot: Telegram's limit is shared between them
    (bot/jobs/send_budget.py)."""
    limiter = application.bot.rate_limiter
    if not isinstance(limiter, RateLimiter):
        return  # a test's own limiter
    budget = SendBudget(db, settings.instance_name, limiter)
    application.bot_data[BUDGET_KEY] = (budget, asyncio.create_task(budget.run(),
                                                                    name="send budget"))


async def _cancelled(task: asyncio.Task[None]) -> None:
    """A background loop of this instance (the lease's, the send budget's), ended."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _post_shutdown(application: Application) -> None:
    wiring: Wiring = application.bot_data["wiring"]
    services: Services | None = application.bot_data.get(SERVICES_KEY)
    shared: tuple[SendBudget, asyncio.Task[None]] | None = application.bot_data.pop(
        BUDGET_KEY, None)
    if shared is not None:
        budget, refreshing = shared
        await _cancelled(refreshing)
        await budget.forget()
    task: asyncio.Task[None] | None = application.bot_data.pop(LEASE_TASK_KEY, None)
    if task is not None:
        await _cancelled(task)
    lease: JobLease | None = application.bot_data.pop(LEASE_KEY, None)
    if lease is not None:
        await lease.give_up()
    locks: ChatLocks | None = application.bot_data.pop(CHAT_LOCKS_KEY, None)
    if locks is not None:
        await locks.close()
    if services is not None and wiring.db is None:
        await services.db.close()


async def _unknown_command(update: Update, context: Context) -> None:
    await answer(update, UNKNOWN_COMMAND)


async def _stale_button(update: Update, context: Context) -> None:
    await answer(update, STALE)


async def _on_error(update: object, context: Context) -> None:
    """Log an error id and the exception's type and place; never the update or user data.

    A restricted record (`rights.Restricted`, raised by the pupil lookups) is no error:
    it is answered with the fixed text and audited as a refused view. Nor is a database
    that stayed busy (`DatabaseBusy`): the person is told to try again in a moment, and
    the log says busy in one line.

    The update goes no further: after an error in the gate (Telegram failing its PIN
    prompt, say) python-telegram-bot would otherwise go on to the feature handlers,
    which must never run without the gate's verdict.
    """
    error = context.error
    if isinstance(error, Restricted):  # a lookup reached a restricted record: no error
        await refuse_restricted(update, context.services.db, error)
        raise ApplicationHandlerStop
    if isinstance(error, DatabaseBusy):
        await _say_busy(update, error)
        raise ApplicationHandlerStop
    ref = secrets.token_hex(4)
    where = ""
    if error is not None and error.__traceback__ is not None:
        frame = error.__traceback__
        while frame.tb_next is not None:
            frame = frame.tb_next
        where = f" at {frame.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.tb_lineno}"
    log.error("error %s: %s%s", ref, type(error).__name__, where)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await update.effective_chat.send_message(SOMETHING_WRONG.format(ref=ref))
        except Exception:  # noqa: BLE001 - the error report must not raise in turn
            log.warning("error %s: the person could not be told", ref)
    raise ApplicationHandlerStop


async def _say_busy(update: object, error: DatabaseBusy) -> None:
    """The database stayed busy: the transaction it stopped was rolled back whole (a draft
    stays at the step it had reached), so the person is asked to send or press it again;
    a press is answered with the hint, so its spinner stops."""
    if not isinstance(update, Update):  # a job's: it runs again at its next turn
        log.warning("database busy in a scheduled job: %s", error)
        return
    log.warning("database busy: an update was not handled (%s); the person was asked to"
                " try again", error)
    try:
        await answer(update, BUSY, alert=True)
    except Exception:  # noqa: BLE001 - the busy report must not raise in turn
        log.warning("database busy: the person could not be told")
