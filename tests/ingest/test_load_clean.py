from __future__ import annotations

from pathlib import Path

import pytest

from ingest.clean import clean_text, is_furniture
from ingest.load import SkipFile, Target, discover, load
from tests.pdfgen import make_pdf

MB = 1024 * 1024


def _load(path: Path, max_bytes: int = MB):
    return load(Target(path, path.name), max_bytes)


PROMO_PAGE = """Feature stores for beginners
Share on LinkedIn
Home > Blog > MLOps
A feature store keeps feature definitions in one place so training and serving compute them the same way.
Want to land the job? Click here to book a coaching call 👉 Career Sprint – Ace Every Interview
Offline stores serve training jobs, online stores answer low-latency lookups at prediction time.
🚀🔥✨
Want to land the job? Click here to book a coaching call 👉 Career Sprint – Ace Every Interview
Subscribe to our newsletter for weekly tips
Point-in-time joins stop future feature values from leaking into training rows.
Top comments (12)
"""


def test_clean_strips_page_furniture_and_keeps_content() -> None:
    cleaned = clean_text(PROMO_PAGE)
    for kept in (
        "A feature store keeps",
        "Offline stores serve",
        "Point-in-time joins",
        "Feature stores for beginners",
    ):
        assert kept in cleaned
    for gone in ("Click here", "👉", "Share on", "Home > Blog", "🚀", "Subscribe", "Top comments"):
        assert gone not in cleaned


def test_clean_removes_repeated_banner_but_not_code_or_headings() -> None:
    banner = "Join thousands of engineers who prepare with our premium study plan every week."
    text = f"# Title\n\n{banner}\n\nReal content here.\n\n```python\nprint('x')\nprint('x')\n```\n\n{banner}\n"
    cleaned = clean_text(text)
    assert banner not in cleaned
    assert cleaned.count("print('x')") == 2 and "# Title" in cleaned and "Real content here." in cleaned


def test_clean_removes_glued_comment_counter_and_control_characters() -> None:
    cleaned = clean_text("Stay curious and keep reading papers.Top comments (0)\x07\u200b")
    assert cleaned.strip() == "Stay curious and keep reading papers."


@pytest.mark.parametrize(
    "line,expected",
    [
        ("Subscribe", True),
        ("⭐⭐⭐", True),
        ("Read more", True),
        ("Logistic regression models the log-odds as a linear function of the features.", False),
        ("| metric | formula |", False),
        (
            "A paragraph that explains why you should not subscribe to every hype cycle, and what to read instead "
            "when a new architecture appears every week in the research literature and on social media feeds "
            "that promise a shortcut to interview success without the fundamentals that interviews test.",
            False,
        ),
    ],
)
def test_is_furniture(line: str, expected: bool) -> None:
    assert is_furniture(line) is expected


def test_markdown_front_matter_and_title(tmp_path: Path) -> None:
    p = tmp_path / "n.md"
    p.write_text("---\narea: math\ntopic: probability\n---\n# Bayes' theorem\n\nText.\n")
    doc = _load(p)
    assert doc.title == "Bayes' theorem" and doc.meta == {"area": "math", "topic": "probability"}
    assert "area:" not in doc.text


def test_plain_text_headings_are_promoted(tmp_path: Path) -> None:
    p = tmp_path / "guide.txt"
    p.write_text("1. Strong Foundations\nEngineers write production code every day and test it well.\n")
    doc = _load(p)
    assert "## 1. Strong Foundations" in doc.text and doc.title == "Guide"


def test_html_keeps_headings_and_drops_navigation(tmp_path: Path) -> None:
    p = tmp_path / "page.html"
    p.write_text(
        "<html><head><title>T</title><script>var x=1;</script></head><body><nav>Home | Blog</nav>"
        "<h1>Gradient clipping</h1><p>Clipping caps the gradient norm.</p><ul><li>Use it for RNNs.</li></ul>"
        "<footer>All rights reserved</footer></body></html>"
    )
    doc = _load(p)
    assert doc.title == "Gradient clipping"
    assert "# Gradient clipping" in doc.text and "- Use it for RNNs." in doc.text
    assert "var x" not in doc.text and "Home | Blog" not in doc.text and "rights" not in doc.text


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    p = tmp_path / "notes.pdf"
    p.write_bytes(make_pdf(["Batch normalization normalizes activations per mini-batch."], title="BN notes"))
    doc = _load(p)
    assert "Batch normalization normalizes" in doc.text and doc.title == "BN notes"


@pytest.mark.parametrize(
    "name,content,reason",
    [
        ("empty.md", b"", "empty"),
        ("blank.md", b"   \n\n", "no text"),
        ("binary.txt", b"\x00\x01\x02\x03" * 100, "binary"),
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "corrupt PDF"),
        ("big.md", b"word " * (MB // 4), "too large"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(SkipFile, match=reason):
        _load(p, max_bytes=MB)


def test_unreadable_file_is_skipped(tmp_path: Path) -> None:
    p = tmp_path / "gone.md"
    p.symlink_to(tmp_path / "deleted-target.md")  # unreadable even for root
    with pytest.raises(SkipFile, match="unreadable"):
        _load(p)


def test_discover_walks_folders_and_reports_missing_and_unsupported(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "n.md").write_text("# x")
    (tmp_path / "a" / "bank.yaml").write_text("- id: 1")  # ignored silently inside folders
    (tmp_path / "a" / ".hidden").mkdir()
    (tmp_path / "a" / ".hidden" / "h.md").write_text("# h")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    targets, scopes, problems = discover([tmp_path / "a", tmp_path / "photo.png", tmp_path / "nope"])
    assert [t.path.name for t in targets] == ["n.md"]
    assert len(scopes) == 1 and scopes[0].endswith("/")
    assert {(Path(p).name, r.split()[0]) for p, r in problems} == {("photo.png", "unsupported"), ("nope", "no")}
