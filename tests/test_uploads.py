"""Photos and documents on a visit: each kind of file gets the right outcome, and nothing bad is
stored or served. Files go through the API (multipart) and the page, as a phone would send them."""
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image

from tracker.calendar import local_today
from tracker.models import Attachment, Visit


def photo_with_gps(size=(4000, 3000)) -> bytes:
    """A camera-like JPEG: big, with position, time and camera model in its EXIF."""
    image = Image.new("RGB", size, (200, 120, 40))
    for x in range(0, size[0], 97):  # some detail so it is not a trivial file
        image.paste((x % 255, 80, 160), (x, 0, x + 40, size[1]))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "HUAWEI"
    exif[ExifTags.Base.Model] = "Mate 60"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:11:20 10:30:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (27.0, 4.0, 48.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (112.0, 57.0, 0.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=92)
    return buffer.getvalue()


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 128, 255, 200)).save(buffer, "PNG")
    return buffer.getvalue()


EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 50 + \
    b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 400
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>')
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def visit(db, make_user, make_project):
    supervisor = make_user("supervisor")
    project = make_project(supervisor=supervisor, lat=27.08, lon=112.95)
    v = Visit(project_id=project.id, supervisor_id=supervisor.id, visited_on=local_today(),
              kind="routine", stage=project.stage, summary="例行走访")
    db.session.add(v)
    db.session.commit()
    return v


@pytest.fixture
def api(client, token_for, visit):
    headers = token_for(visit.supervisor)

    def upload(*files, visit_id=None):
        data = {"file": [(io.BytesIO(content), name) for content, name in files]}
        return client.post(f"/api/v1/visits/{visit_id or visit.id}/attachments", data=data,
                           headers=headers, content_type="multipart/form-data")
    upload.headers = headers
    return upload


def files_on_disk(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def attachment_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(Attachment.id)))


def test_real_photo_is_downscaled_stripped_and_its_position_kept(app, db, client, api, visit):
    original = photo_with_gps()
    response = api((original, "IMG_20261120_103000.jpg"))
    assert response.status_code == 201, response.get_json()
    [body] = response.get_json()
    assert body["content_type"] == "image/jpeg" and body["has_thumbnail"] is True
    assert body["exif"]["lat"] == pytest.approx(27.08, abs=1e-4)
    assert body["exif"]["lon"] == pytest.approx(112.95, abs=1e-4)
    assert body["exif"]["taken_at"] == "2026-11-20T10:30:00" and body["exif"]["model"] == "Mate 60"

    served = client.get(body["url"], headers=api.headers)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("inline")
    assert "IMG_20261120_103000.jpg" in served.headers["Content-Disposition"]
    image = Image.open(io.BytesIO(served.data))
    assert max(image.size) == 2048 and image.size == (2048, 1536)
    assert len(image.getexif()) == 0 and b"Exif" not in served.data[:4096]
    assert b"HUAWEI" not in served.data

    # Stored by content hash, never by the name it was sent with.
    attachment = db.session.get(Attachment, body["id"])
    names = [p.name for p in files_on_disk(app)]
    assert names == sorted([attachment.sha256, f"{attachment.sha256}.jpg"])


def test_photo_served_on_pages_only_to_who_may_see_the_visit(app, db, client, api, visit, login,
                                                             make_user, make_department):
    body = api((photo_with_gps((1200, 900)), "site.jpg")).get_json()[0]
    login(visit.supervisor)
    thumb = client.get(f"/visits/files/{body['id']}/thumb")
    assert thumb.status_code == 200 and thumb.headers["X-Content-Type-Options"] == "nosniff"
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 360
    assert client.get(f"/visits/files/{body['id']}").status_code == 200
    client.post("/logout")

    for outsider in (make_user("supervisor"), make_user("department", department=make_department())):
        login(outsider)
        assert client.get(f"/visits/files/{body['id']}").status_code == 404
        assert client.get(f"/visits/files/{body['id']}/thumb").status_code == 404
        client.post("/logout")
    login(make_user("viewer"))
    assert client.get(f"/visits/files/{body['id']}").status_code == 200
    client.post("/logout")
    # And on the API, another supervisor's token gets 404 as well.
    other = make_user("supervisor")
    from tests.conftest import PASSWORD
    token = client.post("/api/v1/tokens", json={"username": other.username,
                                                "password": PASSWORD}).get_json()["token"]
    assert client.get(body["url"], headers={"Authorization": f"Bearer {token}"}).status_code == 404
    assert client.post(f"/api/v1/visits/{visit.id}/attachments",
                       data={"file": [(io.BytesIO(png()), "x.png")]},
                       headers={"Authorization": f"Bearer {token}"},
                       content_type="multipart/form-data").status_code == 404


def test_png_with_a_jpg_name_is_taken_for_what_it_is(app, db, client, api):
    response = api((png(), "scan.jpg"))
    assert response.status_code == 201
    [body] = response.get_json()
    assert body["content_type"] == "image/png" and body["original_name"] == "scan.jpg"
    served = client.get(body["url"], headers=api.headers)
    assert served.mimetype == "image/png" and served.data.startswith(b"\x89PNG")
    assert "scan.png" in served.headers["Content-Disposition"]


@pytest.mark.parametrize("content, name", [
    (EXECUTABLE, "photo.jpg"),
    (SVG, "drawing.svg"),
    (SVG, "innocent.png"),
    (b"<html><body><script>alert(1)</script></body></html>", "page.jpg"),
    (b"#!/bin/sh\nrm -rf /\n", "run.jpg"),
    (b"", "empty.jpg"),
], ids=["exe-renamed-jpg", "svg-with-script", "svg-named-png", "html", "shell-script", "empty"])
def test_files_that_are_not_photos_or_pdfs_are_refused_with_415(app, db, api, content, name):
    response = api((content, name))
    assert response.status_code == 415
    error = response.get_json()["error"]
    assert error["code"] == "unsupported_type" and "file" in error["fields"]
    assert attachment_count(db) == 0 and files_on_disk(app) == []


def test_one_bad_file_among_good_ones_stores_none_of_them(app, db, api):
    response = api((png(), "good.png"), (EXECUTABLE, "bad.jpg"))
    assert response.status_code == 415
    assert attachment_count(db) == 0 and files_on_disk(app) == []


def test_oversized_file_is_refused_with_413(app, db, api):
    app.config["UPLOAD_MAX_BYTES"] = 100_000
    big = photo_with_gps()
    assert len(big) > 100_000
    response = api((big, "big.jpg"))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert attachment_count(db) == 0 and files_on_disk(app) == []
    # The default limit is 10 MB each.
    from config import Config
    assert Config.UPLOAD_MAX_BYTES == 10 * 1024 * 1024


def test_a_path_in_the_file_name_goes_nowhere(app, db, client, api, tmp_path):
    response = api((png(), "../../x.png"))
    assert response.status_code == 201
    [body] = response.get_json()
    assert body["original_name"] == "x.png"
    assert not list(tmp_path.rglob("x.png")) and not Path("x.png").exists()
    root = Path(app.config["UPLOAD_DIR"]).resolve()
    sha = db.session.get(Attachment, body["id"]).sha256
    for path in files_on_disk(app):
        assert path.resolve().is_relative_to(root) and path.name in (sha, f"{sha}.jpg")
    served = client.get(body["url"], headers=api.headers)
    assert 'filename=x.png' in served.headers["Content-Disposition"]
    # Windows-style and control characters too.
    response = api((png(), "..\\..\\evil\x07.png"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()[0]
    assert body["original_name"] == "evil_.png"


def test_pdf_is_kept_and_offered_as_a_download(app, db, client, api):
    response = api((PDF, "验收报告.pdf"))
    assert response.status_code == 201
    [body] = response.get_json()
    assert body["content_type"] == "application/pdf" and body["has_thumbnail"] is False
    served = client.get(body["url"], headers=api.headers)
    assert served.mimetype == "application/pdf" and served.data == PDF
    assert served.headers["Content-Disposition"].startswith("attachment")
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_a_jpeg_with_a_payload_appended_is_served_without_it(app, db, client, api):
    payload = b"<script>alert(1)</script>"
    body = api((photo_with_gps((640, 480)) + payload, "polyglot.jpg")).get_json()[0]
    served = client.get(body["url"], headers=api.headers)
    assert payload not in served.data


def test_photos_on_the_page_form_go_through_the_same_checks(app, db, client, login, visit):
    login(visit.supervisor)
    response = client.post(f"/visits/{visit.id}/attachments", data={
        "files": [(io.BytesIO(SVG), "x.svg"), (io.BytesIO(png()), "ok.png")]},
        content_type="multipart/form-data", follow_redirects=True)
    assert "只接受照片" in response.get_data(as_text=True)
    assert attachment_count(db) == 0 and files_on_disk(app) == []
    response = client.post(f"/visits/{visit.id}/attachments", data={
        "files": [(io.BytesIO(photo_with_gps((1000, 800))), "ok.jpg")]},
        content_type="multipart/form-data", follow_redirects=True)
    assert "已上传 1 个文件" in response.get_data(as_text=True)
    assert attachment_count(db) == 1 and len(files_on_disk(app)) == 2
    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "/thumb" in page and "ok.jpg" in page


def test_admin_setting_sets_the_upload_limit_without_restart(app, db, api, admin):
    from tracker.services import settings

    small = png()
    assert api((small, "ok.png")).status_code == 201
    settings.set(admin, "upload_max_mb", 1)
    db.session.commit()
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10)
    response = api((big, "big.pdf"))
    assert response.status_code == 413
    assert attachment_count(db) == 1
