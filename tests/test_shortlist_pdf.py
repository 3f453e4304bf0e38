"""The shortlist as one PDF to hand to a board: each shortlisted plot's exposé, in order."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import text


def test_the_shortlist_downloads_as_one_pdf_of_exposes(client, engine):
    with engine.connect() as conn:
        plots = conn.execute(text(
            "SELECT id, cadastral_ref FROM plot WHERE retired_at IS NULL ORDER BY id LIMIT 2")).all()
    ids = ",".join(str(p.id) for p in plots)
    page = client.get(f"/maps/shortlist?plots={ids}&lang=de")
    import lxml.html

    link = lxml.html.fromstring(page.text).get_element_by_id("shortlist-pdf")
    assert link.text_content().strip() == "Exposés herunterladen (PDF)"
    assert link.get("href").startswith("/maps/shortlist.pdf?")
    answer = client.get(f"/maps/shortlist.pdf?plots={ids}&lang=de")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(answer.content))
    assert 2 <= len(pdf.pages) <= 4  # each exposé holds at most two pages
    words = " ".join(" ".join(p.extract_text().split()) for p in pdf.pages)
    first, second = (words.find(p.cadastral_ref) for p in plots)
    assert 0 <= first < second  # in the shortlist's order


def test_a_shortlist_pdf_without_plots_or_with_too_many_is_refused(client):
    assert client.get("/maps/shortlist.pdf").status_code == 400
    assert client.get("/maps/shortlist.pdf?plots=1,2,3,4,5,6").status_code == 400
    assert client.get("/maps/shortlist.pdf?plots=999999999").status_code == 404
