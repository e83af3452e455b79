"""The policy in force and the examiner's acknowledgment of it.

An examiner searches only after acknowledging the exact policy file in force (name, version and
SHA-256; casework refuses otherwise). :func:`needs_acknowledgment` says whether the signed-in user
must still acknowledge; :class:`QtPolicyAcknowledgmentDialog` shows the profile's title, version,
authorized purposes and the report advisory, and records the acknowledgment only after the
explicit check box is ticked. Declining keeps the session; searches stay refused.
"""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtCore import Qt, SignalInstance
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.casework import accounts
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.policy.profiles import PolicyProfile
from app.policy.roles import Role
from app.policy.supervision import acknowledges
from app.ui import messages

log = logging.getLogger(__name__)

ACKNOWLEDGE_TEXT = "I have read and acknowledge this policy"


def has_acknowledged(ws: Workstation, user: SignedInUser) -> bool:
    """True when the user acknowledged exactly the profile file in force (following a profile
    change the administrator made on another workstation first)."""
    ws.refresh_profile()
    facts = accounts.examiner_facts(ws, user_id=user.user_id)
    return any(acknowledges(ack, ws.profile) for ack in facts.acknowledged)


def needs_acknowledgment(ws: Workstation, user: SignedInUser) -> bool:
    """An examiner who has not acknowledged the policy in force (others never search)."""
    if Role.EXAMINER not in user.roles:
        return False
    return not has_acknowledged(ws, user)


def policy_text(profile: PolicyProfile) -> str:
    """The policy summary the examiner reads before acknowledging."""
    purposes = "\n".join(f"  - {p.label} [{p.clause}]" for p in profile.purposes)
    return (
        f"{profile.title}\n"
        f"Issued by: {profile.issuer}\n"
        f"Version: {profile.version}\n"
        f"File SHA-256: {profile.sha256}\n\n"
        f"Authorized purposes:\n{purposes}\n\n"
        f"What a result is:\n{profile.report.advisory}\n\n"
        f"Acknowledgment ({profile.acknowledgment.clause}):\n{profile.acknowledgment.text}\n"
    )


class QtPolicyAcknowledgmentDialog(QDialog):
    """Shows the policy in force; records the user's acknowledgment when asked to."""

    def __init__(
        self, ws: Workstation, user: SignedInUser, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.user = user
        self.acknowledged = False
        profile = ws.profile
        self.setWindowTitle("Policy in force")
        self.resize(720, 560)

        title = QLabel(f"{profile.title} - version {profile.version}")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        title.setFont(font)
        title.setWordWrap(True)
        self.title_label = title

        already = has_acknowledged(ws, user)
        is_examiner = Role.EXAMINER in user.roles
        if already:
            state = "You have acknowledged this exact version of the policy."
        elif is_examiner:
            state = (
                "You have not acknowledged this version of the policy. Searches stay refused "
                "until you read and acknowledge it."
            )
        else:
            state = "Only examiners need to acknowledge the policy before searching."
        self.state_label = QLabel(state)
        self.state_label.setWordWrap(True)

        self.text_view = QPlainTextEdit(policy_text(profile))
        self.text_view.setReadOnly(True)
        self.text_view.setObjectName("policyText")

        self.confirm_box = QCheckBox(ACKNOWLEDGE_TEXT)
        self.confirm_box.setChecked(already)
        self.confirm_box.setEnabled(not already)
        buttons = QDialogButtonBox()
        self.acknowledge_button = QPushButton("Acknowledge")
        self.acknowledge_button.setEnabled(False)
        buttons.addButton(self.acknowledge_button, QDialogButtonBox.ButtonRole.AcceptRole)
        can_sign = is_examiner and not already
        self.close_button = buttons.addButton(
            "Not now" if can_sign else "Close", QDialogButtonBox.ButtonRole.RejectRole
        )
        self.acknowledge_button.setVisible(can_sign)
        self.confirm_box.setVisible(can_sign)
        self.confirm_box.toggled.connect(self.acknowledge_button.setEnabled)
        self.acknowledge_button.clicked.connect(self.acknowledge)
        self.close_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.state_label)
        layout.addWidget(self.text_view, 1)
        layout.addWidget(self.confirm_box)
        layout.addWidget(buttons)
        self.state_label.setTextFormat(Qt.TextFormat.PlainText)

    def acknowledge(self) -> None:
        if not self.confirm_box.isChecked():
            return
        profile = self.ws.profile
        try:
            accounts.acknowledge_policy(
                self.ws,
                user=self.user,
                profile_name=profile.name,
                profile_version=profile.version,
                profile_sha256=profile.sha256,
            )
        except Exception as exc:
            messages.show_error(self, exc)
            return
        self.acknowledged = True
        self.accept()


def ask_for_acknowledgment(
    ws: Workstation, user: SignedInUser, parent: QWidget | None = None
) -> QtPolicyAcknowledgmentDialog | None:
    """Open the dialog (window-modal, not blocking) when the user still has to acknowledge."""
    try:
        if not needs_acknowledgment(ws, user):
            return None
    except Exception as exc:  # a database problem must not end the session
        messages.log_unexpected(exc, context="checking the policy acknowledgment")
        return None
    dialog = QtPolicyAcknowledgmentDialog(ws, user, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


class PolicyHost(Protocol):
    """What the policy entry needs from the main window."""

    ws: Workstation
    user: SignedInUser
    help_menu: QMenu
    lock_changed: SignalInstance

    def is_locked(self) -> bool: ...


def show_policy(window: PolicyHost) -> QtPolicyAcknowledgmentDialog:
    """Help > Policy in force: view (and acknowledge) the policy at any time."""
    parent = window if isinstance(window, QWidget) else None
    dialog = QtPolicyAcknowledgmentDialog(window.ws, window.user, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def install_policy_entry(window: PolicyHost) -> QAction:
    """Add Help > "Policy in force..." and ask again after every unlock when still needed."""
    parent = window if isinstance(window, QWidget) else None
    action = QAction("&Policy in force...", parent)
    action.setObjectName("help_policy")
    action.setStatusTip("Read the policy profile in force and acknowledge it (examiners)")
    action.triggered.connect(lambda _checked=False: show_policy(window))
    existing = window.help_menu.actions()
    if existing:
        window.help_menu.insertAction(existing[0], action)
    else:
        window.help_menu.addAction(action)

    def after_lock_change(locked: bool) -> None:
        if not locked:
            ask_for_acknowledgment(window.ws, window.user, parent)

    window.lock_changed.connect(after_lock_change)
    return action


__all__ = [
    "ACKNOWLEDGE_TEXT",
    "QtPolicyAcknowledgmentDialog",
    "ask_for_acknowledgment",
    "has_acknowledged",
    "install_policy_entry",
    "needs_acknowledgment",
    "policy_text",
    "show_policy",
]
