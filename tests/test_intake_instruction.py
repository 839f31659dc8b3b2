"""Leaders' instructions (领导批示, 003 §35): tracker/services/intake/instruction.py and the 批示
reading of decompose.propose."""

from tests.intake_names import demo_scanner
from tracker.services.intake import decompose as dc
from tracker.services.intake.instruction import read_instruction

SIGNERS = frozenset({"周国平", "吴海涛", "高志远", "林晓东", "马丽", "何军"})


def propose(text, signer=""):
    return dc.propose(text, kind="instruction", scanner=demo_scanner(), signer=signer)


SIGNED = """吴海涛同志批示：
请区住建局牵头，会同区应急局抓紧研究处理，5个工作日内将处理意见报我。
                                吴海涛
                                2026年11月18日
"""


def test_the_signer_leads_as_leader_and_the_signature_date_is_no_deadline():
    p = propose(SIGNED)
    [row] = p.rows
    assert p.title == "吴海涛同志批示" and p.signer == "吴海涛"
    assert (row.lead, row.assisting, row.leaders) == ("区住建局", "区应急局", "吴海涛")
    assert row.deadline_text == "5个工作日内"  # not 2026年11月18日
    assert "2026年11月18日" not in row.requirement


def test_yuechu_names_the_lead_and_the_document_is_kept():
    text = (
        "领导批示件\n来文：区住建局《关于翠湖小区安全隐患情况的报告》\n"
        "批示：此件请区住建局阅处，区应急局配合。\n周国平  11月20日"
    )
    p = propose(text)
    assert p.document == "区住建局《关于翠湖小区安全隐患情况的报告》"
    assert p.signer == "周国平" and p.rows[0].lead == "区住建局" and p.rows[0].leaders == "周国平"


def test_a_signer_first_line_and_a_bracketed_date():
    layout = read_instruction(
        "林晓东：请区水利局、柳河镇立即组织力量排查处置，处置情况即时报我。（2025年7月23日）", SIGNERS
    )
    assert layout.signer == "林晓东"
    assert layout.view.text[layout.items[0].start : layout.items[0].end].endswith("即时报我。")


def test_a_chain_reads_the_instruction_that_assigns():
    text = (
        "周国平区长批示：\n请海涛同志阅处。\n        6月2日\n\n"
        "吴海涛常务副区长批示：\n请区发改委牵头，会同区财政局研究提出意见，10个工作日内报国平区长和我。\n  2026年6月3日\n"
    )
    p = propose(text)
    [row] = p.rows
    assert p.signer == "吴海涛" and row.lead == "区发改委"
    assert set(row.leaders.split("、")) == {"吴海涛", "周国平"}


def test_several_requests_are_several_items_and_a_closing_request_to_leaders_applies_to_all():
    text = (
        "周国平批示：此件反映的问题具有一定普遍性。区住建局要牵头开展全面检查，6月底前完成；"
        "区国资中心要督促区属国有企业规范收费。请海涛、志远同志督促落实。\n2026年5月6日"
    )
    rows = propose(text).rows
    assert [r.lead for r in rows] == ["区住建局", "区国资中心"]
    assert rows[0].requirement.startswith("区住建局要牵头")  # the remark is no item
    assert all(set(r.leaders.split("、")) == {"周国平", "吴海涛", "高志远"} for r in rows)


def test_the_registered_leader_signs_an_unsigned_instruction():
    [row] = propose("请区商务局研办，本月20日前报我。", signer="吴海涛").rows
    assert row.leaders == "吴海涛" and row.lead == "区商务局"
