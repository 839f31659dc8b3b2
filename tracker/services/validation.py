"""Pydantic input models validated with Chinese messages, one per field."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from tracker.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


def validate(
    model: type[M],
    data: dict,
    labels: dict[str, str],
    *,
    missing: str = "{label}不能为空",
    none_is_missing: bool = False,
) -> M:
    """``model.model_validate(data)``, or ValidationFailed naming each bad field in Chinese.

    ``missing`` is the wording for an empty required field; ``none_is_missing``
    also reads an explicit None that way (form fields left blank arrive as None).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = {}
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "_"
            label = labels.get(name, name)
            if err["type"] in ("string_too_short", "missing") or (none_is_missing and err.get("input") is None):
                fields[name] = missing.format(label=label)
            elif err["type"] == "string_too_long":
                fields[name] = f"{label}过长"
            elif err["type"].startswith("date"):
                fields[name] = f"{label}不是有效日期"
            elif err["type"] == "enum":
                fields[name] = f"{label}取值无效"
            else:
                fields[name] = f"{label}填写有误"
        first = next(iter(fields.values()), "输入有误")
        raise ValidationFailed(f"输入有误：{first}", fields=fields) from exc
