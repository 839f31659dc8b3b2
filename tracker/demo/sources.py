"""The demo's sources: meetings with their minutes, leaders' instructions, 建议 and 提案,
audit and supervision findings, public opinion, documents and letters, and the texts
(minutes, instructions) that list their items."""

from __future__ import annotations

from tracker.demo.catalogue import (
    AUDIT_ISSUES,
    CPPCC_TOPICS,
    DOCUMENT_ITEMS,
    LETTER_ITEMS,
    NPC_TOPICS,
    OPINION_ISSUES,
    SUPERVISION_ISSUES,
)
from tracker.demo.organisation import (
    DEPT_LEADER,
    EXEC,
    GAO,
    HE,
    LEADER_BY_KEY,
    LEADERS,
    LIN,
    MA,
    MAYOR,
    label,
)
from tracker.demo.plan import SourcePlan
from tracker.demo.wording import PERSON_NAMES, cn_date, cn_number
from tracker.models import MEETING_KINDS, DeadlineKind, FeedbackCycle, SourceKind, Urgency
from tracker.rules.periods import week_label

TARGET_TASKS = 300

# Sources whose items are numbered 一、二、三… in the text (minutes, work plans, audit reports).
NUMBERED_KINDS = MEETING_KINDS | {SourceKind.KEY_WORK, SourceKind.AUDIT_FINDING}


class SourcePlanning:
    """Mixed into the planner: draws the sources and their items, then writes their texts."""

    def _source(self, kind, title, reference, day, leader, meta, intro) -> SourcePlan:
        src = SourcePlan(len(self.sources), kind, title, reference, day, leader, meta, intro)
        self.sources.append(src)
        return src

    def _attendees(self, chair: str) -> list[str]:
        return [f"{LEADER_BY_KEY[k][1]}{LEADER_BY_KEY[k][0]}" for k, _n, _t2 in LEADERS if k != chair]

    def plan_sources(self) -> None:
        rng, past, year = self.rng, self.past, self.today.year
        n = len(past)
        base = 2 * past[0].month + 6  # meeting numbers so far this year, roughly
        mayor = LEADER_BY_KEY[MAYOR][0]

        for i, k in enumerate(range(2, n, 10)):
            no = base + i
            src = self._source(
                SourceKind.EXECUTIVE_MEETING,
                f"区政府第{no}次常务会议",
                f"青山府常纪〔{year}〕{no}号",
                past[k],
                MAYOR,
                {"chair": mayor, "leaders": self._attendees(MAYOR)},
                f"{cn_date(past[k])}，区长{mayor}主持召开区政府第{no}次常务会议，区政府副区长、"
                "党组成员出席，区直有关部门和街道（镇）主要负责同志列席。会议听取了有关工作汇报，"
                "研究部署了近期重点工作。现将会议议定事项纪要如下：",
            )
            for _ in range(rng.randint(7, 10)):
                t, fixed = self._draw("_pool")
                self._item(src, t, fixed, extra_leaders=[MAYOR] if rng.random() < 0.15 else [])

        for i, k in enumerate(range(6, n, 13)):
            no = base // 2 + i
            src = self._source(
                SourceKind.MAYOR_OFFICE_MEETING,
                f"区长办公会议（{year}年第{no}次）",
                f"青山府办纪〔{year}〕{no}号",
                past[k],
                MAYOR,
                {"chair": mayor},
                f"{cn_date(past[k])}，区长{mayor}主持召开区长办公会议，专题研究了重点项目推进"
                "和民生实事有关问题。会议议定事项如下：",
            )
            for _ in range(rng.randint(5, 7)):
                t, fixed = self._draw("_pool")
                self._item(src, t, fixed)

        chair_groups = {
            GAO: ("城建", "生态"),
            LIN: ("安全", "农业", "经济"),
            MA: ("民生",),
            EXEC: ("经济",),
            HE: ("治理",),
        }
        topic_no = base * 2
        for k in range(1, n, 5):
            chair = rng.choice([GAO, GAO, LIN, LIN, MA, MA, EXEC, HE])
            group = rng.choice(chair_groups[chair])
            first, fixed = self._draw("_pool", lambda t, g=group: t.group == g)
            name, title = LEADER_BY_KEY[chair]
            topic_no += 1
            src = self._source(
                SourceKind.TOPIC_MEETING,
                f"{first.topic}专题会议",
                f"青山府专纪〔{year}〕{topic_no}号",
                past[k],
                chair,
                {"chair": name, "topic": first.topic},
                f"{cn_date(past[k])}，{title}{name}主持召开专题会议，研究{first.topic}有关工作。会议议定事项如下：",
            )
            self._item(src, first, fixed)
            for _ in range(rng.randint(2, 4)):
                t, fixed = self._draw("_pool", lambda t, g=group: t.group == g)
                self._item(src, t, fixed)

        exec_name = LEADER_BY_KEY[EXEC][0]
        seen_weeks: set[tuple[int, int]] = set()
        issue = 0
        for day in past:
            week = day.isocalendar()[:2]
            if week in seen_weeks:
                continue
            seen_weeks.add(week)
            issue += 1
            src = self._source(
                SourceKind.SCHEDULING_MEETING,
                f"重点工作调度推进会议（{week_label(day)}）",
                f"调度〔{year}〕第{issue}期",
                day,
                EXEC,
                {"chair": exec_name},
                f"{cn_date(day)}，常务副区长{exec_name}主持召开重点工作调度推进会议，听取近期"
                "重点工作推进情况汇报，聚焦影响工作推进的“节点”“阻点”“断点”问题逐项研究调度。"
                "会议明确如下事项：",
            )
            for _ in range(rng.randint(4, 6)):
                if rng.random() < 0.65:
                    t, fixed = self._draw("_sched_pool")
                    self._item(
                        src, t, fixed, extra_leaders=[EXEC] if rng.random() < 0.3 else [], feedback=FeedbackCycle.WEEKLY
                    )
                else:
                    t, fixed = self._draw("_pool")
                    self._item(src, t, fixed, prefix="【项目推进类】", feedback=FeedbackCycle.WEEKLY)

        day = past[min(4, n - 1)]
        src = self._source(
            SourceKind.PLENARY_MEETING,
            f"区政府第{base // 4}次全体会议",
            f"青山府全纪〔{year}〕{base // 4}号",
            day,
            MAYOR,
            {"chair": mayor},
            f"{cn_date(day)}，区长{mayor}主持召开区政府全体会议，总结前三季度工作，部署四季度重点任务。会议要求：",
        )
        for _ in range(5):
            t, fixed = self._draw("_pool")
            self._item(src, t, fixed, extra_leaders=[MAYOR])
        for j, k in enumerate((n // 3, 2 * n // 3)):
            no = base // 2 + j
            src = self._source(
                SourceKind.PARTY_GROUP_MEETING,
                f"区政府党组{year}年第{no}次会议",
                f"青山府党组纪〔{year}〕{no}号",
                past[k],
                MAYOR,
                {"chair": mayor},
                f"{cn_date(past[k])}，区政府党组书记、区长{mayor}主持召开区政府党组会议。会议研究议定事项如下：",
            )
            for _ in range(3):
                t, fixed = self._draw("_pool")
                self._item(src, t, fixed)

        half = "下半年" if past[0].month >= 7 else "上半年"
        src = self._source(
            SourceKind.KEY_WORK,
            f"{year}年区政府工作报告重点任务分解（{half}推进计划）",
            f"青山政办〔{year}〕{rng.randint(30, 60)}号",
            past[0],
            MAYOR,
            {},
            f"为确保{year}年区政府工作报告确定的目标任务落到实处，现将{half}重点工作分解如下，"
            "各责任单位要细化措施、按月推进：",
        )
        for _ in range(12):
            t, fixed = self._draw("_pool")
            self._item(src, t, fixed, feedback=FeedbackCycle.MONTHLY)

        def few(rows, count, make):
            for j, row in enumerate(rng.sample(rows, min(count, len(rows)))):
                make(j, row, self.rand_day(past[0], past[-1]))

        def npc(j, row, day, kind=SourceKind.NPC_SUGGESTION):
            topic, lead, assists = row
            v = self._values()
            topic = topic.format(**v)
            person = rng.choice(PERSON_NAMES)
            no = rng.randint(10, 180)
            if kind == SourceKind.NPC_SUGGESTION:
                title, ref, who = f"区人大代表{person}等关于{topic}的建议", f"区人大{year}年第{no}号建议", "人大代表"
            else:
                title, ref, who = f"区政协委员{person}关于{topic}的提案", f"区政协{year}年第{no}号提案", "政协委员"
            src = self._source(
                kind,
                title,
                ref,
                day,
                None,
                {"proposer": person},
                f"{who}{person}提出：建议{topic}。经区政府研究，交由以下单位办理，"
                "请严格责任、限时办结，主动公开办理结果：",
            )
            self._simple(
                src,
                f"办理{who}关于{topic}的{'建议' if kind == SourceKind.NPC_SUGGESTION else '提案'}",
                lead,
                assists,
                fixed=v,
                requirement=f"认真研究{who}意见，{topic}，与{who}当面沟通办理方案，按时答复并公开办理结果。",
            )

        few(NPC_TOPICS, 5, npc)
        few(CPPCC_TOPICS, 5, lambda j, row, day: npc(j, row, day, SourceKind.CPPCC_PROPOSAL))

        audits = [
            (f"{year}年度区本级财政预算执行和其他财政收支审计整改", AUDIT_ISSUES[:5]),
            ("区属国有企业主要负责人经济责任审计整改", AUDIT_ISSUES[4:]),
        ]
        for j, (title, rows) in enumerate(audits):
            day = past[min(n - 1, 3 + 25 * j)]
            src = self._source(
                SourceKind.AUDIT_FINDING,
                title,
                f"青审报〔{year}〕{rng.randint(5, 30)}号",
                day,
                MAYOR,
                {"auditor": "区审计局"},
                f"区审计局审计发现以下问题，经区长{mayor}批示，请责任单位认真整改并向区政府报告：",
            )
            for row in rows:
                self._simple(
                    src,
                    row[0],
                    row[1],
                    row[2],
                    requirement="对照审计报告逐项整改，建立整改台账，完善制度，整改结果报区审计局和区政府。",
                )
        day = past[min(n - 1, n // 2)]
        src = self._source(
            SourceKind.AUDIT_FINDING,
            "区政府督查室重点工作专项督查发现问题整改",
            f"青督通〔{year}〕{rng.randint(5, 20)}号",
            day,
            EXEC,
            {"auditor": "区政府督查室"},
            "区政府督查室在专项督查中发现以下问题，请责任单位立行立改，并报送整改情况：",
        )
        for row in SUPERVISION_ISSUES:
            self._simple(
                src,
                row[0],
                row[1],
                row[2],
                urgency=Urgency.URGENT,
                requirement="立行立改，举一反三，3日内报送整改情况和佐证照片。",
            )

        for row in rng.sample(OPINION_ISSUES, 3):
            v = self._values()
            issue_text = row[0].format(**v)
            day = self.rand_day(past[0], past[-1])
            src = self._source(
                SourceKind.PUBLIC_OPINION,
                f"关于“{issue_text}”网络舆情的处置",
                f"舆情专报〔{year}〕第{rng.randint(20, 80)}期",
                day,
                HE,
                {"channel": "网络平台"},
                f"据舆情监测，网络平台出现“{issue_text}”相关信息，阅读量较大。请责任单位立即核实，"
                "5小时内发布权威信息，24小时内回应群众关切：",
            )
            self._simple(
                src,
                f"处置“{issue_text}”网络舆情",
                row[1],
                row[2],
                fixed=v,
                urgency=Urgency.EXTRA_URGENT,
                preset=("opinion_press", "24小时内"),
                requirement="立即核实情况，及时发布权威信息，回应群众关切，同步解决群众反映的实际问题。",
            )

        for row in rng.sample(DOCUMENT_ITEMS, 5):
            title, lead, assists, code, days = row
            day = self.rand_day(past[0], past[-1])
            src = self._source(
                SourceKind.DOCUMENT,
                title.removeprefix("办理").removeprefix("落实"),
                f"青政办文〔{year}〕{rng.randint(100, 400)}号",
                day,
                None,
                {},
                f"{title}。请按规定时限办理：",
            )
            self._simple(src, title, lead, assists, preset=(code, f"{days}个工作日内"))

        for row in rng.sample(LETTER_ITEMS, 3):
            title, lead, assists, code, days = row
            v = self._values()
            day = self.rand_day(past[0], past[-1])
            src = self._source(
                SourceKind.LETTER,
                "工作提示函" if "提示函" in title else "工作沟通函",
                f"青督函〔{year}〕{rng.randint(10, 60)}号",
                day,
                None,
                {},
                "请收函单位按要求办理，并于规定时限内书面回复：",
            )
            self._simple(src, title, lead, assists, fixed=v, preset=(code, f"{days}个工作日内"))

        # Leaders' instructions make up the rest.
        issue = rng.randint(40, 90)
        issuers = [MAYOR] * 7 + [EXEC] * 5 + [GAO, GAO, LIN, LIN, MA, MA, HE] + [None] * 2
        while len(self.items) < TARGET_TASKS:
            issue += 1
            who = rng.choice(issuers)
            day = self.rand_day(past[0], past[-1])
            portfolio = {d for d, boss in DEPT_LEADER.items() if boss == who}
            t, fixed = self._draw(
                "_pool", (lambda t, mine=portfolio: t.lead[0] in mine) if who not in (None, MAYOR) else None
            )
            if who is None:
                issuer, itype = "市政府分管副市长", "市领导"
                leader = MAYOR
                title = f"市领导关于{t.topic}工作的批示"
            else:
                name, ltitle = LEADER_BY_KEY[who]
                issuer, itype, leader = f"{ltitle}{name}", "区领导", who
                title = f"{ltitle}{name}关于{t.topic}工作的批示"
            src = self._source(
                SourceKind.LEADER_INSTRUCTION,
                title,
                f"青山批〔{year}〕{issue}号",
                day,
                leader,
                {"issuer": issuer, "level": itype},
                "",
            )
            item = self._item(src, t, fixed, extra_leaders=[who] if rng.random() < 0.6 else [])
            src.document = f"{label(item.lead)}《关于{t.topic}工作有关情况的报告》"
            if len(self.items) < TARGET_TASKS and rng.random() < 0.15:
                t, fixed = self._draw("_pool")
                self._item(src, t, fixed)

    # -- minutes and instruction texts -------------------------------------------

    def compose_bodies(self) -> None:
        for src in self.sources:
            if src.kind in MEETING_KINDS:
                present = "、".join(dict.fromkeys(label(d) for it in src.items for d in [it.lead, *it.assists]))
                leaders = "、".join(src.meta.get("leaders", []))
                src.attendees = (f"{leaders}；" if leaders else "") + f"列席：{present}"
            lines = [src.intro] if src.intro else []
            for it in src.items:
                assists = "、".join(label(d) for d in it.assists)
                who = f"由{label(it.lead)}牵头" + (f"，{assists}配合" if assists else "")
                leaders = "、".join(LEADER_BY_KEY[k][0] for k in it.leaders)
                when = f"{it.deadline_text}完成" if it.deadline_kind == DeadlineKind.DATE else it.deadline_text
                line = f"{it.title}。{it.requirement}{who}，{leaders}同志负责协调，{when}。"
                if src.kind in NUMBERED_KINDS:
                    lines.append(f"{cn_number(int(it.item_no))}、{line}")
                else:
                    lines.append(line)
            if src.kind == SourceKind.LEADER_INSTRUCTION:
                it = src.items[0]
                issuer = src.meta["issuer"]
                first = (
                    f"{issuer}批示：“{it.requirement}请{label(it.lead)}牵头"
                    + (f"，{'、'.join(label(d) for d in it.assists)}配合" if it.assists else "")
                    + (
                        f"，{it.deadline_text}报办理结果。”"
                        if it.deadline_kind == DeadlineKind.DATE
                        else f"，{it.deadline_text}。”"
                    )
                )
                if src.meta.get("level") == "市领导":
                    first += f"\n区长{LEADER_BY_KEY[MAYOR][0]}批示：“请{LEADER_BY_KEY[DEPT_LEADER[it.lead]][0]}同志牵头抓好落实。”"
                lines = [first] + [f"另：{x.title}，由{label(x.lead)}办理。" for x in src.items[1:]]
            src.body = "\n".join(lines)
