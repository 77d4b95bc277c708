"""Finding customers by part of the name or the start of the id."""

from analysis.search import find_customers

NAMES = {"CUST-0086": "上海星河贸易有限公司", "CUST-0087": "宁波海运有限公司",
         "C-2001": "上海星河贸易 有限公司", "ACME-1": "Acme Trading Co., Ltd."}


def _ids(query: str, limit: int = 10) -> list[str]:
    return [m.customer_id for m in find_customers(NAMES, query, limit=limit)]


def test_by_part_of_the_name_as_normalised() -> None:
    assert _ids("星河贸易") == ["C-2001", "CUST-0086"]
    full_width_acme = "\uff21\uff23\uff2d\uff25"
    assert _ids(f"{full_width_acme} trading") == ["ACME-1"]  # width, case and spaces ignored
    assert _ids("有限公司") == []  # only a legal form: matches the id prefix of nobody


def test_by_the_start_of_the_id_first_and_limited() -> None:
    assert _ids("cust-008") == ["CUST-0086", "CUST-0087"]
    assert _ids("CUST", limit=1) == ["CUST-0086"]
    assert _ids("   ") == []
