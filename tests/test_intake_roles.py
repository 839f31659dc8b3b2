"""Roles from the clause (tracker/services/intake/roles.py): each phrasing a clerk reads.

000 §31, 003 §35, 004 §29: one lead department, any number of assisting ones, and the
responsible leaders. The names are the demo district's (tests/intake_names.py)."""

import pytest

from tests.intake_names import demo_scanner
from tracker.services.intake.roles import read_roles


def roles(text):
    return read_roles(text, demo_scanner())


def names(text):
    r = roles(text)
    return (
        r.lead.text if r.lead else None,
        [p.text for p in r.assisting],
        [p.hit.name if p.hit else p.text for p in r.leaders],
    )


@pytest.mark.parametrize(
    "text, lead, assisting",
    [
        ("由区住建局牵头，抓紧完善方案。", "区住建局", []),
        ("由区住建局负责，区交易中心配合。", "区住建局", ["区交易中心"]),
        ("由区住建局具体负责。", "区住建局", []),
        ("由东湖路街道统筹，区征收中心、区住建局协助。", "东湖路街道", ["区征收中心", "区住建局"]),
        ("由区住建局根据会议意见修改完善。", "区住建局", []),
        ("请区财政局负责研究。", "区财政局", []),
        ("请区国资中心牵头研究整合方案，区财政局、区审计局参与。", "区国资中心", ["区财政局", "区审计局"]),
        ("此件请区商务局阅处。", "区商务局", []),
        ("请区财政局会同区审计局研究。", "区财政局", ["区审计局"]),
        ("区住建局要会同区发改委、区财政局细化清单。", "区住建局", ["区发改委", "区财政局"]),
        ("区政数局牵头，区市场监管局、区发改委配合。", "区政数局", ["区市场监管局", "区发改委"]),
        ("会议要求北苑街道抓紧完成改造，区商务局积极配合。", "北苑街道", ["区商务局"]),
        ("区卫健委和区财政局要共同研究资金保障方案。", "区卫健委", ["区财政局"]),
        ("区城管局负责拆除，柳林街道做好住户思想工作。", "区城管局", ["柳林街道"]),
        ("区投促中心要组织招商，区科工信局、区商务局派员参与。", "区投促中心", ["区科工信局", "区商务局"]),
        ("区应急局要督促各镇落实责任。", "区应急局", ["各镇"]),
        ("区农业农村局要指导各镇做好防灾减灾。", "区农业农村局", ["各镇"]),
        ("区民政局要落实政策，区人社局等相关单位配合。", "区民政局", ["区人社局"]),
        ("区财政局（配合）、区住建局（牵头）要抓紧完善方案。", "区住建局", ["区财政局"]),
        ("区发改委为牵头单位，区统计局为配合单位。", "区发改委", ["区统计局"]),
        ("责成区信访局逐案建立台账。", "区信访局", []),
    ],
)
def test_lead_and_assisting_phrasings(text, lead, assisting):
    got_lead, got_assisting, _ = names(text)
    assert (got_lead, got_assisting) == (lead, assisting)


def test_the_department_that_specifically_answers_leads_even_after_a_leader_leads():
    assert names("由高志远副区长牵头，区自规分局具体负责，区住建局配合。") == ("区自规分局", ["区住建局"], ["高志远"])


def test_several_doers_the_first_leads_with_a_warning():
    r = roles("区交通局、公安青山分局要联合开展整治。")
    assert r.lead.text == "区交通局" and [p.text for p in r.assisting] == ["公安青山分局"]
    assert any("以第一个为牵头单位" in w for w in r.warnings)


def test_a_group_where_the_lead_stands_leads_nothing():
    r = roles("会议要求，各镇要切实履行属地责任。")
    assert r.lead is None and [p.text for p in r.assisting] == ["各镇"]
    assert r.warnings


@pytest.mark.parametrize(
    "text",
    [
        "区财政局要抓紧，5月底前将方案报区住建局。",  # a receiver
        "区财政局5个工作日内以区住建局名义印发。",  # an issuer
        "区财政局要纳入区住建局部门预算。",
        "区财政局要加快推进柳河镇两所新建幼儿园建设。",  # a place
        "区财政局要主动向市发改委汇报。",  # a higher body
    ],
)
def test_receivers_issuers_places_and_higher_bodies_are_no_parties(text):
    assert names(text)[:2] == ("区财政局", [])


def test_a_name_inside_a_longer_word_is_still_the_name():
    assert names("区住建局局长要每周到现场调度。")[0] == "区住建局"


@pytest.mark.parametrize(
    "text, leaders",
    [
        ("由马丽副区长牵头协调。", ["马丽"]),
        ("林晓东副区长负责督导。", ["林晓东"]),
        ("由何军同志负责跟踪。", ["何军"]),
        ("报高志远副区长审定后实施。", ["高志远"]),
        ("报周国平区长。", ["周国平"]),
        ("吴海涛常务副区长任组长，高志远副区长任副组长。", ["吴海涛", "高志远"]),
        ("请海涛、志远同志督促落实。", ["吴海涛", "高志远"]),
        ("报国平区长和我。", ["周国平"]),
        ("报区长审定。", ["周国平"]),  # a title one leader holds
        ("提请区长办公会议研究，由分管副区长牵头。", []),
        ("周国平区长强调，区应急局要压实责任。", []),
    ],
)
def test_leaders(text, leaders):
    assert names(text)[2] == leaders


def test_an_unknown_leader_is_reported_with_its_position_and_the_verb_is_no_name():
    r = roles("报郑丽华副区长审定。")
    assert [p.text for p in r.leaders] == ["郑丽华"] and not r.leaders[0].known
    assert [(p.text, p.start, p.end) for p in r.unknown] == [("郑丽华", 1, 4)]


@pytest.mark.parametrize(
    "text, lead, unknown",
    [
        ("由区大数据中心负责，区政数局配合。", "区大数据中心", ["区大数据中心"]),
        ("区住建局要会同区水利局、国网青山供电公司优化方案。", "区住建局", ["国网青山供电公司"]),
        ("区农业农村局要会同柳河镇、白沙镇和区消防救援大队设置检查站。", "区农业农村局", ["区消防救援大队"]),
    ],
)
def test_unknown_units_where_a_party_stands_are_kept_never_dropped(text, lead, unknown):
    r = roles(text)
    assert r.lead.text == lead
    assert [p.text for p in r.unknown] == unknown
    assert all(text[p.start : p.end] == p.text for p in r.unknown)


def test_an_unknown_unit_in_a_place_is_not_reported():
    assert roles("会议同意区交易中心搬迁至区政务服务中心三楼，由区机关事务中心负责。").unknown == []


def test_every_role_carries_the_span_of_its_phrase():
    text = "由区住建局牵头，区财政局、区发改委配合。"
    r = roles(text)
    assert [text[a:b] for a, b in r.spans["lead"]] == ["由区住建局牵头"]
    assert [text[a:b] for a, b in r.spans["assisting"]] == ["区财政局、区发改委配合"]
