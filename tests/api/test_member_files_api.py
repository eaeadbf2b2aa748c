"""Member CSV upload and CSV/XLSX download over HTTP, with their permissions and errors."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook

GOOD = ("手机号,姓名,邮箱,省份,城市,标签,consent_sms\n"
        "13812345678,王小明,wang@example.com,广东,深圳,vip|coffee,是\n"
        "13912345678,李雷,,北京,北京,student,\n")


def upload(client: TestClient, headers: dict[str, str], content: bytes | str,
           name: str = "members.csv", **params: str) -> object:
    body = content.encode() if isinstance(content, str) else content
    return client.post("/api/v1/members/import", headers=headers, params=params,
                       files={"file": (name, body, "text/csv")})


def member_count(client: TestClient, headers: dict[str, str], **params: str) -> int:
    resp = client.get("/api/v1/members", headers=headers, params={"limit": 500, **params})
    assert resp.status_code == 200, resp.text
    return len(resp.json()["items"])


def test_upload_imports_and_members_are_searchable(client: TestClient, auth) -> None:
    resp = upload(client, auth("operator"), GOOD.encode("gbk"), name="门店会员.csv")

    assert resp.status_code == 200, resp.text
    assert resp.json() == {"file": "门店会员.csv", "rows": 2, "imported": 2, "rejected": 0,
                           "ignored_columns": [], "errors": []}
    found = client.get("/api/v1/members", headers=auth("till"), params={"q": "王小明"})
    member = found.json()["items"][0]
    assert member["phone"] == "+8613812345678"
    assert member["tags"] == ["coffee", "vip"]
    assert member["region"] == {"province": "广东", "city": "深圳"}
    assert member["consents"]["sms"]["granted"] is True
    timeline = client.get(f"/api/v1/members/{member['id']}/timeline", headers=auth("till"))
    assert timeline.json()["items"][0]["data"]["source"] == "import"


def test_bad_rows_are_a_422_listing_each_row_and_nothing_is_imported(client: TestClient,
                                                                      auth) -> None:
    resp = upload(client, auth("admin"), GOOD + "12345,坏,not-mail,,,,\n13812345678,重复,,,,,\n")

    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == "import_invalid"
    assert [(e["line"], e["field"]) for e in body["errors"]] == [
        (4, "phone"), (4, "email"), (5, "phone")]
    assert body["errors"][2]["reason"] == "duplicate of line 2"
    assert member_count(client, auth("admin")) == 0


def test_skip_invalid_as_query_or_form_imports_the_good_rows(client: TestClient,
                                                             auth) -> None:
    resp = upload(client, auth("operator"), GOOD + "12345,坏,,,,,\n", skip_invalid="true")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["imported"], body["rejected"]) == (2, 1)
    assert body["errors"] == [{"line": 4, "field": "phone",
                               "reason": "not a valid phone number: '12345'"}]

    again = client.post("/api/v1/members/import", headers=auth("operator"),
                        data={"skip_invalid": "true"},
                        files={"file": ("again.csv", GOOD.encode(), "text/csv")})
    assert again.status_code == 200, again.text
    assert again.json()["imported"] == 0
    assert {e["reason"][:16] for e in again.json()["errors"]} == {"already a member"}
    assert member_count(client, auth("operator")) == 2


def test_a_wrong_header_or_encoding_is_a_clear_422(client: TestClient, auth) -> None:
    header = upload(client, auth("admin"), "phone,nickname\n13812345678,x\n")
    assert header.status_code == 422
    assert header.json()["code"] == "import_header"
    assert header.json()["errors"] == [{"line": 1, "field": "nickname",
                                        "reason": header.json()["errors"][0]["reason"]}]
    assert "unknown column" in header.json()["detail"]

    binary = upload(client, auth("admin"), b"PK\x03\x04\x00\x00\xff\xfe")
    assert binary.status_code == 422 and binary.json()["code"] == "import_encoding"
    assert member_count(client, auth("admin")) == 0


def test_upload_without_a_file_is_a_422(client: TestClient, auth) -> None:
    resp = client.post("/api/v1/members/import", headers=auth("admin"))
    assert resp.status_code == 422
    assert resp.json()["code"] == "validation_error"


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_csv_export_streams_a_download_that_follows_the_filters(client: TestClient,
                                                                auth) -> None:
    upload(client, auth("admin"), GOOD)

    resp = client.get("/api/v1/members/export", headers=auth("analyst"),
                      params={"format": "csv", "tag": "vip"})

    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "text/csv; charset=utf-8"
    assert resp.headers["content-disposition"] == \
        'attachment; filename="members-20260615-100000.csv"'
    rows = read_csv(resp.content)
    assert rows[0][:3] == ["id", "phone", "name"]
    assert [r[1:3] for r in rows[1:]] == [["+8613812345678", "王小明"]]
    everyone = client.get("/api/v1/members/export", headers=auth("analyst"))
    assert len(read_csv(everyone.content)) == 3


def test_csv_export_uploads_back_cleanly(client: TestClient, auth) -> None:
    upload(client, auth("admin"), GOOD)
    exported = client.get("/api/v1/members/export", headers=auth("admin")).content

    again = upload(client, auth("admin"), exported, skip_invalid="true")

    assert again.json()["ignored_columns"] == ["id", "tier", "status"]
    assert {e["field"] for e in again.json()["errors"]} == {"phone"}  # already members
    assert again.json()["rejected"] == 2


def test_xlsx_export_opens_with_the_rows(client: TestClient, auth) -> None:
    upload(client, auth("admin"), GOOD)

    resp = client.get("/api/v1/members/export", headers=auth("finance"),
                      params={"format": "xlsx", "region": "北京"})

    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert resp.headers["content-disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(resp.content), read_only=True)["members"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:4] == ["id", "phone", "name", "email"]
    assert len(rows) == 2 and rows[1][1:3] == ["+8613912345678", "李雷"]


def test_an_unknown_export_format_is_a_422(client: TestClient, auth) -> None:
    resp = client.get("/api/v1/members/export", headers=auth("admin"),
                      params={"format": "pdf"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "format"


def test_export_is_audited(client: TestClient, auth) -> None:
    upload(client, auth("admin"), GOOD)
    client.get("/api/v1/members/export", headers=auth("analyst"), params={"tag": "vip"})
    audit = client.get("/api/v1/audit", headers=auth("admin")).json()["items"]
    exported = next(e for e in audit if e["action"] == "members.exported")
    assert exported["actor"]["role"] == "analyst"
    assert exported["changes"]["filters"]["after"] == {"tag": "vip"}
    assert exported["changes"]["rows"]["after"] == 1


def test_a_till_can_neither_import_nor_export_and_an_analyst_cannot_import(
        client: TestClient, auth) -> None:
    assert upload(client, auth("till"), GOOD).status_code == 403
    assert client.get("/api/v1/members/export", headers=auth("till")).status_code == 403
    forbidden = upload(client, auth("analyst"), GOOD)
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
    assert client.get("/api/v1/members/export", headers=auth("analyst")).status_code == 200
    assert upload(client, {}, GOOD).status_code == 401
    assert member_count(client, auth("admin")) == 0
