"""Which words of an item are its deadline (tracker/services/intake/timing.py)."""

import pytest

from tracker.services.intake.timing import find_deadline


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("4月底前形成方案初稿；年底前完成首批整治任务。", "年底前"),  # the last date; the earlier a milestone
        ("发现问题立即整改，6月10日前完成全部排查。", "6月10日前"),
        ("年内新增事项不少于10项。此项工作长期坚持，每月25日前将推进情况报区政府办公室。", "长期坚持，每月25日前"),
        ("区统计局每月15日前报送项目入库情况。", "每月15日前"),
        ("3月上旬前形成一季度工业经济运行预判报告。", "3月上旬前"),  # 一季度 qualifies a noun here
        ("区政数局积极配合，一季度实现首批10个事项上线运行。", "一季度"),
        ("4月下旬组织赴长三角地区开展专题招商活动。", "4月下旬"),
        ("节后5个工作日内完成重点企业全覆盖检查。", "节后5个工作日内"),
        ("春节前组织开展年货节。", "春节前"),
        ("五一前将计划表报吴海涛常务副区长审定。", "五一前"),
        ("本月中旬前完成，检查结果报马丽副区长。", "本月中旬前"),
        ("明年一季度建成投用。", "明年一季度"),
        ("两周内报区政府。", "两周内"),
        ("截至2026年12月31日，全面完成整改。", "2026年12月31日"),
        ("会后5个工作日内报送。", "5个工作日内"),
        ("此件请区商务局研办，本月20日前报我。", "本月20日前"),
        ("区住建局要立即开展专项检查。", "立即"),
        ("（牵头单位：区城管局；完成时限：12月20日前）确保12月15日前供暖。", "12月20日前"),
    ],
)
def test_the_deadline_phrase(text, phrase):
    assert find_deadline(text).text == phrase


@pytest.mark.parametrize(
    "text",
    [
        "实现企业开办1个工作日内办结。",  # a service standard
        "遇有重大突发事件立即报告，不得迟报。",  # a conditional
        "全年培训不少于2000人次。",  # a target
        "排涝泵站要在主汛期前完成检修。",  # no date a calendar gives
        "在建议提案办结后10个工作日内做好宣传报道。",  # counts from an event to come
        "区住建局局长要每周到现场调度一次。",  # describes the work, reports nothing
        "会议听取了区发改委关于一季度全区经济运行情况的汇报。",
    ],
)
def test_words_that_are_no_deadline(text):
    assert find_deadline(text).text == ""


def test_earlier_dates_are_offered_as_milestones_and_spans_point_at_the_words():
    text = "11月底前完成摸排，12月底前完成整改。"
    found = find_deadline(text)
    assert found.others == ["11月底前"]
    assert [text[a:b] for a, b in found.spans] == ["12月底前"]
