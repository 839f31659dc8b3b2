"""``flask --app wsgi minutes parse``: the proposal without writing anything."""

import json

import pytest
from docx import Document
from sqlmodel import func, select

from tracker.demo.organisation import build_org
from tracker.models import Source, Task

MINUTES = """区政府第31次常务会议纪要

2026年3月2日上午，区长周国平主持召开区政府第31次常务会议。现纪要如下：

一、关于城市更新
会议要求，区住建局要会同区发改委、区大数据中心细化项目清单，3月底前报郑丽华副区长审定。

二、关于安全生产
区应急局要牵头组织开展春季安全生产大检查，各街道办事处配合，清明前完成。林晓东副区长牵头协调。

出席：周国平  吴海涛  高志远
列席：区财政局负责同志
"""

KEYS = [
    "title",
    "requirement",
    "lead",
    "assisting",
    "leaders",
    "due_date",
    "deadline_text",
    "ongoing",
    "recurrence",
    "urgency",
    "errors",
    "warnings",
]


@pytest.fixture
def runner(app, session):
    build_org(session)
    session.commit()
    return app.test_cli_runner()


def run(runner, path, *extra):
    return runner.invoke(args=["minutes", "parse", str(path), *extra])


def test_json_has_the_promised_keys_and_names(runner, tmp_path, session):
    path = tmp_path / "m.txt"
    path.write_text(MINUTES, encoding="utf-8")
    result = run(runner, path, "--date", "2026-03-02", "--format", "json", "--registered", "2026-03-02")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["title"] == "区政府第31次常务会议"
    one, two = out["items"]
    assert list(one) == KEYS
    assert one["lead"] == "区住房和城乡建设局" and one["assisting"] == ["区发展和改革委员会"]
    assert one["due_date"] == "2026-03-31" and one["urgency"] == "一般"
    assert "未识别的单位：区大数据中心" in one["errors"] and "未识别的领导：郑丽华" in one["errors"]
    assert two["lead"] == "区应急管理局" and len(two["assisting"]) == 8  # every street office
    assert two["leaders"] == ["林晓东"] and two["due_date"] == "2026-04-03"
    unknown = {u["text"]: u for u in out["unknown"]}
    assert set(unknown) == {"区大数据中心", "郑丽华"}
    assert MINUTES[unknown["区大数据中心"]["start"] : unknown["区大数据中心"]["end"]] == "区大数据中心"
    assert session.exec(select(func.count()).select_from(Task)).one() == 0  # nothing written
    assert session.exec(select(func.count()).select_from(Source)).one() == 0


def test_a_word_file_reads_as_its_text_does(runner, tmp_path):
    """A .docx goes through the document reader (services/intake/documents) and gives the same
    proposal as the same minutes pasted as text."""

    word = Document()
    for line in MINUTES.splitlines():
        word.add_paragraph(line)
    docx, txt = tmp_path / "m.docx", tmp_path / "m.txt"
    word.save(docx)
    txt.write_text(MINUTES, encoding="utf-8")
    args = ("--date", "2026-03-02", "--format", "json", "--registered", "2026-03-02")
    from_word, from_text = run(runner, docx, *args), run(runner, txt, *args)
    assert from_word.exit_code == 0, from_word.output
    fields = ("lead", "assisting", "leaders", "due_date")
    assert [[i[f] for f in fields] for i in json.loads(from_word.stdout)["items"]] == [
        [i[f] for f in fields] for i in json.loads(from_text.stdout)["items"]
    ]


def test_text_for_a_clerk_and_gb18030_files(runner, tmp_path):
    path = tmp_path / "m.txt"
    path.write_bytes(MINUTES.encode("gb18030"))
    result = run(runner, path, "--date", "2026-03-02", "--registered", "2026-11-23")
    assert result.exit_code == 0, result.output
    assert "区政府第31次常务会议（会议纪要，2026-03-02）：共 2 项" in result.output
    assert "牵头单位：区住房和城乡建设局" in result.output
    assert "时限已过" in result.output  # registered late: a warning, not an error
    assert "未识别的名称" in result.output and "区大数据中心" in result.output


def test_an_instruction(runner, tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("吴海涛同志批示：\n请区住建局牵头，5个工作日内报我。\n吴海涛\n2026年11月18日\n", encoding="utf-8")
    result = run(runner, path, "--date", "2026-11-18", "--kind", "instruction", "--format", "json")
    out = json.loads(result.stdout)
    assert out["title"] == "吴海涛同志批示"
    [item] = out["items"]
    assert item["leaders"] == ["吴海涛"] and item["due_date"] == "2026-11-25"


@pytest.mark.parametrize(
    "name, content, args, message",
    [
        ("m.txt", "一、甲", ["--date", "2026-13-01"], "日期不是有效日期"),
        ("missing.txt", None, ["--date", "2026-03-02"], "找不到文件"),
        ("m.docx", b"PK\x03\x04", ["--date", "2026-03-02"], "已损坏"),
        ("m.txt", b"\xff\xfe\x00\x00\x01", ["--date", "2026-03-02"], "不是文本文件"),
        ("m.xls", b"x", ["--date", "2026-03-02"], "只能读取 Word（.docx）、PDF"),
    ],
)
def test_unreadable_files_and_bad_dates_fail_in_chinese(runner, tmp_path, name, content, args, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run(runner, path, *args)
    assert result.exit_code != 0 and message in result.output


def test_before_a_district_is_set_up_it_reads_with_the_demo_districts_names(app, tmp_path):
    """No department in the database yet: the reading still works, and says whose names it used."""
    path = tmp_path / "纪要.txt"
    path.write_text("一、由区住建局牵头，区财政局配合，12月底前完成。", encoding="utf-8")
    result = app.test_cli_runner().invoke(
        args=["minutes", "parse", str(path), "--date", "2026-11-20", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert "按演示区（青山区）的名录读取" in result.stderr
    [item] = json.loads(result.stdout)["items"]
    assert item["lead"] == "区住房和城乡建设局" and item["assisting"] == ["区财政局"]
