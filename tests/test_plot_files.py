"""A plot's photos and documents on its public page and in its exposé, each served as what its
content is: the right type, a name that is no header injection, nosniff, nothing that runs."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from sqlalchemy import text

from locations import attachments
from tests import desk_files
from tests.test_desk_core import account
from tests.test_plot_updates import plot_in


def test_photos_show_on_the_plot_page_documents_are_listed_and_the_expose_has_the_photos(
        fresh_client, fresh_engine):
    kranj = account(fresh_engine, "kranj-public", "municipality", municipalities=["Kranj"])
    plot = plot_in(fresh_engine, "Kranj")
    with fresh_engine.begin() as conn:
        photo = attachments.add(conn, kranj, plot, desk_files.jpeg(400, 300), "site.jpg",
                                "Pogled s ceste <b>")
        plan = attachments.add(conn, kranj, plot, desk_files.pdf(), "zazidalni načrt.pdf")
    page = fresh_client.get(f"/maps/plots/{plot}?lang=sl")
    assert page.status_code == 200
    html = page.text
    assert f'src="/maps/plots/{plot}/files/{photo}"' in html
    assert 'alt="Pogled s ceste &lt;b&gt;"' in html
    assert f'href="/maps/plots/{plot}/files/{plan}" download>zazidalni načrt.pdf</a>' in html
    assert "Fotografije in dokumenti" in html

    image = fresh_client.get(f"/maps/plots/{plot}/files/{photo}")
    assert image.status_code == 200 and image.content == desk_files.jpeg(400, 300)
    assert image.headers["content-type"] == "image/jpeg"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert image.headers["content-disposition"].startswith('inline; filename="site.jpg"')
    assert "sandbox" in image.headers["content-security-policy"]
    again = fresh_client.get(f"/maps/plots/{plot}/files/{photo}",
                             headers={"If-None-Match": image.headers["etag"]})
    assert again.status_code == 304 and again.content == b""

    document = fresh_client.get(f"/maps/plots/{plot}/files/{plan}")
    assert document.headers["content-type"] == "application/pdf"
    disposition = document.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="zazidalni-na-rt.pdf"')
    assert "filename*=UTF-8''zazidalni%20na%C4%8Drt.pdf" in disposition

    expose = fresh_client.get(f"/maps/plots/{plot}/expose.pdf?lang=sl")
    assert expose.status_code == 200
    reader = PdfReader(io.BytesIO(expose.content))
    assert len(reader.pages) <= 2
    text_of = "\n".join(p.extract_text() for p in reader.pages)
    assert "Fotografije" in text_of
    images = [image for p in reader.pages for image in p.images]
    # The two maps and the photo.
    assert len(images) >= 3


def test_a_file_of_another_plot_or_none_at_all_is_not_found(fresh_client, fresh_engine):
    kranj = account(fresh_engine, "kranj-other", "municipality", municipalities=["Kranj"])
    plot = plot_in(fresh_engine, "Kranj")
    with fresh_engine.begin() as conn:
        photo = attachments.add(conn, kranj, plot, desk_files.png(), "a.png")
        other = conn.execute(text("SELECT id FROM plot WHERE id <> :p ORDER BY id LIMIT 1"),
                             {"p": plot}).scalar_one()
    assert fresh_client.get(f"/maps/plots/{other}/files/{photo}").status_code == 404
    assert fresh_client.get(f"/maps/plots/{plot}/files/{photo + 1000}").status_code == 404
    assert fresh_client.get(f"/maps/plots/{plot}/files/0").status_code == 422
    page = fresh_client.get(f"/maps/plots/{other}")
    assert not re.search(r'id="files"', page.text)
