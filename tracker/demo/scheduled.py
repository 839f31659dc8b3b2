"""What the scheduled jobs would have left by this morning: weekly score snapshots and the
last bulletins (the dashboard's trend and ranking have data), this week's 每周调度, and
the day's reminders, escalations and digests."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, select

from tracker.config import Settings
from tracker.jobs import REPORT_DUES_AHEAD
from tracker.models import ScheduleItem, User
from tracker.services.actors import Actor
from tracker.services.calendar import load_calendar
from tracker.services.chasing import reminders
from tracker.services.figures import bulletins, scoring
from tracker.services.notify import digest
from tracker.services.scheduling import meeting
from tracker.services.scheduling import weekly as schedule
from tracker.services.tasks import recurring


def score_history(session: Session, today: date) -> None:
    """Score snapshots on each Sunday of the last 26 weeks and yesterday, and the last
    complete week's and month's bulletins: the dashboard's trend and ranking have data."""
    sunday = today - timedelta(days=today.weekday() + 1)
    for week in range(26):
        scoring.take_snapshot(session, sunday - timedelta(weeks=week))
    scoring.take_snapshot(session, today - timedelta(days=1))
    bulletins.generate_bulletin(session, "week")
    bulletins.generate_bulletin(session, "month")


def this_week(session: Session, today: date, *, settings: Settings | None = None) -> None:
    """This week's 每周调度 with eight blocked items on the agenda, and the day's reminders,
    escalations and digests, as the scheduler would have left them this morning."""
    week = schedule.generate_week(session, today)
    blocked = session.exec(
        select(ScheduleItem.id)
        .where(ScheduleItem.schedule_id == week.id, ScheduleItem.section == "blocked")
        .order_by(ScheduleItem.id)
        .limit(8)
    ).all()  # a meeting's worth, not every blocked item
    if blocked:
        office = session.exec(select(User).where(User.username == "duchashi")).one()
        meeting.update_items(session, Actor.of(office), week.id, {item_id: {"on_agenda": True} for item_id in blocked})
    if load_calendar(session).is_workday(today):
        recurring.ensure_report_dues(session, today + REPORT_DUES_AHEAD)
        reminders.run_rules(session, today)
        digest.build_digests(session, today, settings=settings)
