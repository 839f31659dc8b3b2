"""Demo data: a believable fictional district (青山区) built through the real services.

``seed_demo`` creates the organisation (departments with aliases, leaders with their
portfolios, a handful of users), three months of sources (meetings with minutes,
leaders' instructions, suggestions, audit findings...), about 300 tasks in every state
of the closed loop and the spring sessions' 建议 and 提案. Every change goes through the
services on a frozen past working day, so the audit log reads like a real history:
assigned, acknowledged, reported on, extended, returned, reminded, escalated, closed.
The caller commits.

The modules, by what they seed:
    organisation  departments, leaders, users, and the actors the rest acts through
    catalogue     what tasks are about (templates and rows); wording: stock phrases
    plan          the seeded planner: items, days, statuses, deadlines
    sources       meetings, instructions, findings… and their texts
    stories       each task's dated steps, by status and scenario
    tasks         the replay of those steps through the task services
    motions       人大代表建议 and 政协委员提案, in every stage
    scheduled     what the scheduled jobs would have left by this morning
    seed          the entry point that runs them in order

Nothing in the business layer imports this package.
"""

from tracker.demo.organisation import DEMO_PASSWORD
from tracker.demo.seed import DEFAULT_SEED, seed_demo

__all__ = ["DEFAULT_SEED", "DEMO_PASSWORD", "seed_demo"]
