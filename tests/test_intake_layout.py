"""The layout of a 纪要 (tracker/services/intake/layout.py): what is an item and what is not."""

import pytest

from tracker.services.intake.layout import make_view, read_minutes


def items(text):
    layout = read_minutes(text)
    return [layout.view.text[s.start : s.end] for s in layout.items]


UNNUMBERED = """区政府第34次常务会议纪要

〔2026〕19号

4月27日，区长周国平主持召开区政府第34次常务会议，研究有关事项。纪要如下：

会议听取了区发改委关于一季度经济运行情况的汇报。会议要求，区发改委要加强监测分析。

会议原则同意《若干措施》，由区发改委根据会议意见修改完善后印发实施。

会议强调，区财政局牵头开展支出压减工作，5月底前报区政府。

出席：周国平，吴海涛，高志远
列席：区发改委、区统计局、区财政局负责同志
      区住建局负责同志
送：区委常委。

青山区人民政府办公室                   2026年4月28日印发
"""


def test_unnumbered_minutes_one_paragraph_each_and_no_junk():
    found = items(UNNUMBERED)
    assert len(found) == 3
    assert found[0].startswith("会议听取了区发改委") and found[1].startswith("会议原则同意")
    assert found[2].endswith("5月底前报区政府。")  # the 出席/列席 block, even wrapped, is not glued on
    assert not any("纪要" in f or "主持召开" in f for f in found)  # title and preamble are no items


def test_the_customary_title_is_read_from_the_title_lines():
    assert read_minutes(UNNUMBERED).title == "区政府第34次常务会议"
    assert (
        read_minutes("青山区人民政府\n区长办公会议纪要\n（2026年第5次）\n\n一、甲。").title
        == "区长办公会议（2026年第5次）"
    )


NUMBERED = """区政府第31次常务会议纪要
2026年3月2日上午，区长周国平主持召开区政府第31次常务会议。现纪要如下：
一、关于城市更新
会议要求，区住建局要细化项目清单，3月底前报区政府审定。
二、关于安全生产
区应急局要牵头组织大检查，清明前完成。
会议还研究了其他事项。
出席：周国平  吴海涛
抄送：区委办公室。
青山区人民政府办公室                     2026年3月3日印发
"""


def test_numbered_items_keep_their_heading_and_stop_before_the_trailer():
    found = items(NUMBERED)
    assert found == [
        "关于城市更新\n会议要求，区住建局要细化项目清单，3月底前报区政府审定。",
        "关于安全生产\n区应急局要牵头组织大检查，清明前完成。",
    ]


def test_a_closing_paragraph_after_the_numbered_items_is_an_item_of_its_own():
    found = items(
        "会议议定如下：\n一、区信访局要牵头排查。\n二、区人社局要开通绿色通道。\n会议强调，各单位要严格值班。\n"
    )
    assert found == ["区信访局要牵头排查。", "区人社局要开通绿色通道。", "会议强调，各单位要严格值班。"]


def test_headings_with_items_under_them_the_items_are_under_them():
    text = "纪要如下：\n一、项目建设方面\n（一）甲工程。区交通局要加快。\n（二）乙项目。滨江街道要加快。\n二、民生方面\n（一）丙。区民政局要推进。\n"
    layout = read_minutes(text)
    assert [s.no for s in layout.items] == ["一（一）", "一（二）", "二（一）"]
    assert [layout.view.text[s.start : s.end] for s in layout.items][1] == "乙项目。滨江街道要加快。"


PDF = (
    "区政府第32次常务会议纪要\n"
    "会议研究了以下事项：\n"
    "一、审议《资金管理办法》。会议原则通过该办法，由区财政局会同区住\n"
    "建局根据会议意见修改完善，3个工作日内报送区政府办公室按程序印发。\n"
    "二、研究森林防火工作。会议要求，区农业农村局要会同各镇设置防火检\n"
    "查站，加强野外用火管控，清明前完成林区防火隐患排查工作，确保安全。\n"
    "                         — 2 —\n"
    "三、研究信访工作。会议要求，区信访局要牵头逐案建立台账，6月底前完\n"
    "成。\n"
)


def test_a_pdf_paste_is_joined_where_it_was_wrapped_and_footers_go():
    found = items(PDF)
    assert found[0].startswith("审议《资金管理办法》。会议原则通过该办法，由区财政局会同区住建局根据")
    assert "— 2 —" not in found[1] and found[2].endswith("6月底前完成。")
    layout = read_minutes(PDF)
    seg = layout.items[0]
    start, end = layout.view.span(seg.start, seg.end)  # spans map back into the pasted text
    assert PDF[start:end].startswith("审议《资金管理办法》") and "\n" in PDF[start:end]


def test_a_paste_that_lost_every_line_break():
    text = (
        "区长办公会议纪要（2026年第3次） 3月9日，区长周国平主持召开区长办公会议。现纪要如下：1.区农业 农村局要牵头制定方案，"
        "3月底前上报。2.区财政局要统筹整合资金。 出席：周国平 林晓东 青山区人民政府办公室 2026年3月10日印发"
    )
    assert items(text) == ["区农业农村局要牵头制定方案，3月底前上报。", "区财政局要统筹整合资金。"]


@pytest.mark.parametrize("raw, joined", [("区农业 农村局", "区农业农村局"), ("3. 不是", "3. 不是"), ("A B", "A B")])
def test_the_view_drops_spaces_between_chinese_characters_only(raw, joined):
    assert make_view(raw).text == joined


def test_plain_paragraphs_without_numbers_or_starters_are_items():
    assert items("甲段落\n\n乙段落\n续行") == ["甲段落", "乙段落\n续行"]


def test_spans_point_into_the_text_as_posted_with_crlf_line_ends():
    text = "纪要如下：\r\n一、区住建局要细化清单。\r\n二、区财政局要保障资金。\r\n"
    layout = read_minutes(text)
    second = layout.items[1]
    start, end = layout.view.span(second.start, second.end)
    assert text[start:end] == "区财政局要保障资金。"
