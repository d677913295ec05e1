"""In a real browser: upload a PDF, ask the tutor about it (a model served by the stub streams
the answer), see the citation to the right page, open it, and ask a follow-up."""

from __future__ import annotations

from engine.accounts import get_account
from engine.tutor import store
from tests.browser.conftest import signup_and_onboard, wait_for_text
from tests.support.llm_stub import Reply
from tests.support.tutor_data import biology_pdf

ANSWER = (
    "The Calvin cycle fixes carbon dioxide into sugars using the ATP and NADPH made by "
    "the light reactions [1]."
)
FOLLOW_UP_ANSWER = "The enzyme rubisco catalyses the first step of carbon fixation [1]."


def send(page, text: str) -> None:
    """Type a message and send it, as a learner would: if the box was redrawn under the typing
    (a run still finishing after the page opened) and the text vanished, type it again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(3):
        box = page.get_by_test_id("stChatInputTextArea")
        box.fill(text)
        box.press("Enter")
        try:
            page.get_by_test_id("stChatMessage").filter(has_text=text).first.wait_for(
                state="visible", timeout=10_000
            )
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the message {text!r} was never sent")


def responder(body: dict) -> Reply:
    if not body.get("stream"):  # the follow-up rewriting call
        return Reply(content="Which enzyme catalyses the first step of the Calvin cycle?")
    question = body["messages"][-1]["content"].split("My message:")[-1]
    text = FOLLOW_UP_ANSWER if "enzyme" in question else ANSWER
    return Reply(content=text, word_delay_s=0.05)


def test_ask_about_an_uploaded_pdf_and_open_the_citation(page, start_app, llm_stub, tmp_path):
    llm_stub.responder = responder
    server = start_app(llm_stub.env_for())
    email = signup_and_onboard(page, server.url, name="Tariq")
    page.get_by_role("link", name="Open the Library to upload a PDF").click()
    pdf = tmp_path / "plants.pdf"
    pdf.write_bytes(biology_pdf())
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(pdf))
    wait_for_text(page, "Added “Plant Biology Basics”", timeout_ms=420_000)

    page.get_by_role("link", name="Tutor").click()
    wait_for_text(page, "openai/stub-model")
    send(page, "How does the Calvin cycle fix carbon dioxide?")
    wait_for_text(page, "using the ATP and NADPH made by the light reactions", timeout_ms=60_000)
    wait_for_text(page, "Sources")
    assert llm_stub.chat_requests[-1]["body"]["stream"] is True

    rt = server.runtime
    uid = get_account(rt, email=email).user_id
    conv = store.list_conversations(rt, user_id=uid)[0]
    answer = store.list_messages(rt, user_id=uid, conversation_id=conv.id)[-1]
    cited = answer.citations[0]
    assert cited.page_start <= 2 <= cited.page_end  # the Calvin cycle is on page 2
    label = page.get_by_text("[1] Plant Biology Basics", exact=False).first
    label.click()
    page.get_by_role("button", name="Open the page").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("the cited passage is highlighted").wait_for()
    # The dialog draws the page text before the passage first: wait for the passage itself.
    dialog.get_by_text("Calvin cycle", exact=False).first.wait_for()
    assert "Calvin cycle" in dialog.inner_text()
    dialog.get_by_role("button", name="Close").click()

    send(page, "and which enzyme starts it?")
    wait_for_text(page, "rubisco catalyses the first step", timeout_ms=60_000)
    # The streamed text shows before the checked answer is stored; wait for the stored one.
    page.get_by_text("[1] Plant Biology Basics", exact=False).nth(1).wait_for()
    messages = store.list_messages(rt, user_id=uid, conversation_id=conv.id)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[2].search_query == "Which enzyme catalyses the first step of the Calvin cycle?"
