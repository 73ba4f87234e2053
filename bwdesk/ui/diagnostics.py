"""Help → Copy diagnostics: what a support person needs (versions, keyring, settings, the last log lines,
all redacted), gathered on a worker (the keyring may be slow to answer) and put on the clipboard."""

from __future__ import annotations

from collections.abc import Callable

import PySide6
import shiboken6
from PySide6.QtCore import qVersion
from PySide6.QtGui import QGuiApplication

from bwdesk.core.account import Context
from bwdesk.core.logs import diagnostics_text
from bwdesk.core.secrets import SecretStore, default_store
from bwdesk.ui.feedback import Feedback, error_message
from bwdesk.ui.tasks import BackgroundTasks


def qt_version_text() -> str:
    """The Qt version the program runs on and the PySide6 that binds it, e.g. "6.8.1 (PySide6 6.8.1)"."""
    return f"{qVersion()} (PySide6 {PySide6.__version__})"


def gather(context: Context, secret_store: SecretStore | None = None) -> str:
    """The diagnostics text for `context` (blocks on the keyring: call it off the GUI thread)."""
    if context.is_sandbox:
        # The sandbox never touches the keyring (docs/design.md §11), not even to ask which one there is.
        keyring = "not used (sandbox mode)"
        settings: dict[str, object] | None = {"sandbox": True, **context.settings.to_json()}
    else:
        store = secret_store if secret_store is not None else default_store()
        try:
            status = store.status()
            # Support needs the technical reasons the settings dialog folds away under Details.
            keyring = (
                f"{status.description} (Details: {status.details})" if status.details else status.description
            )
        except Exception as exc:  # diagnostics must never fail because the keyring does
            keyring = f"could not be determined ({type(exc).__name__}: {exc})"
        settings = None  # read from the profile, with its warnings and the administrator's locked keys
    return diagnostics_text(
        context.profile, qt_version=qt_version_text(), keyring_description=keyring, settings=settings
    )


def copy_diagnostics(
    feedback: Feedback | None,
    context: Context,
    tasks: BackgroundTasks,
    *,
    on_done: Callable[[bool, str], None] | None = None,
    secret_store: SecretStore | None = None,
) -> int:
    """Gather the diagnostics in the background and put them on the clipboard.

    What happened is told through `feedback` and passed to `on_done(ok, message)`. Returns the task's id.
    """

    def announce(ok: bool, message: str) -> None:
        if feedback is not None and shiboken6.isValid(feedback):
            (feedback.notify if ok else feedback.warn)(message)
        if on_done is not None:
            on_done(ok, message)

    def copied(text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        lines = text.count("\n")
        announce(
            True,
            f"Diagnostics copied to the clipboard ({lines} lines, no passwords or secrets): paste them into "
            "your message to support.",
        )

    def failed(exc: BaseException) -> None:
        announce(False, error_message(exc, "Gathering the diagnostics"))

    return tasks.run(lambda: gather(context, secret_store), copied, failed, description="gather diagnostics")


__all__ = ["copy_diagnostics", "gather", "qt_version_text"]
