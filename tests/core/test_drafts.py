"""Draft autosave files: round trip, atomic, private, and a damaged file never blocks start-up."""

from __future__ import annotations

import stat

from bwdesk.core.drafts import SavedDraft, clear_draft, load_draft, save_draft


def test_round_trip_keeps_everything_typed(tmp_path) -> None:
    path = tmp_path / "draft.json"
    draft = SavedDraft(
        sender="+19195550100",
        recipients=("+19195550123", "12345"),
        pending_recipient_text="919 555 01",
        text="Your technician is on the way “soon” 🚚",
        media=("https://example.com/a.jpg",),
        pending_media_text="https://example.com/b.jp",
        tag="TICKET-4242",
        mode="group",
        priority="high",
        expiration="2030-01-01T00:00:00Z",
    )
    save_draft(path, draft)
    assert load_draft(path) == draft
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["draft.json"]  # no temporary file left behind


def test_empty_draft_removes_the_file(tmp_path) -> None:
    path = tmp_path / "draft.json"
    save_draft(path, SavedDraft(text="x"))
    save_draft(path, SavedDraft())
    assert not path.exists()
    assert load_draft(path) is None


def test_damaged_file_is_kept_aside_and_ignored(tmp_path, expect_log) -> None:
    expect_log("the saved draft was damaged")
    path = tmp_path / "draft.json"
    path.write_text("{not json", encoding="utf-8")
    assert load_draft(path) is None
    kept = [p.name for p in tmp_path.iterdir()]
    assert len(kept) == 1 and kept[0].startswith("draft.json.damaged-")
    assert (tmp_path / kept[0]).read_text(encoding="utf-8") == "{not json"


def test_unexpected_types_are_ignored_field_by_field(tmp_path) -> None:
    path = tmp_path / "draft.json"
    path.write_text(
        '{"text": "hi", "recipients": ["+19195550123", 5], "mode": "weird", "tag": 7}', encoding="utf-8"
    )
    draft = load_draft(path)
    assert draft == SavedDraft(text="hi", recipients=("+19195550123",))


def test_a_link_only_typed_is_a_draft_worth_keeping(tmp_path) -> None:
    path = tmp_path / "draft.json"
    save_draft(path, SavedDraft(pending_media_text="https://example.com/part.jpg"))
    restored = load_draft(path)
    assert restored is not None and restored.pending_media_text == "https://example.com/part.jpg"
    assert SavedDraft(pending_media_text="  ").is_empty()


def test_clear_is_idempotent(tmp_path) -> None:
    path = tmp_path / "draft.json"
    clear_draft(path)
    save_draft(path, SavedDraft(text="x"))
    clear_draft(path)
    assert not path.exists()
