"""Tools menu entries of the administration screens, shown only to the roles that may use them.

``install_admin_pages(window)`` connects the main window's "Users, roles and training", "Audit
log" and "Gallery administration" actions and adds "Models and data", "Policy profile",
"Compliance", "Random audit" and "Health check". Each page is built the
first time it is opened (no queries at sign-in), re-read every time it is opened again, and lives
in the window's page stack. The menu follows the
roles of the sign-in snapshot; casework checks the live roles again on every call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeAlias

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSplitter, QWidget

from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.errors import PermissionDenied
from app.policy.gates import check_can_seal
from app.policy.roles import Role
from app.policy.supervision import evaluate_audit_reading

if TYPE_CHECKING:
    # The pages are imported when first opened: the gallery page pulls in the face engine
    # (onnxruntime, OpenCV), which would otherwise add seconds to the start of the workstation.
    from app.ui.admin.qt_audit_log_page import QtAuditLogPage
    from app.ui.admin.qt_compliance_page import QtCompliancePage
    from app.ui.admin.qt_gallery_admin_page import QtGalleryAdminPage
    from app.ui.admin.qt_health_check_page import QtHealthCheckPage
    from app.ui.admin.qt_policy_profile_page import QtPolicyProfilePage
    from app.ui.admin.qt_random_audit_page import QtRandomAuditPage
    from app.ui.admin.qt_system_info_page import QtSystemInfoPage
    from app.ui.admin.qt_user_admin_page import QtUserAdminPage

USERS_PAGE = "users"
AUDIT_LOG_PAGE = "audit_log"
GALLERY_PAGE = "import_gallery"  # the main window's Tools placeholder
SYSTEM_PAGE = "system_info"
POLICY_PAGE = "policy_profile"
COMPLIANCE_PAGE = "compliance"
RANDOM_AUDIT_PAGE = "random_audit"
HEALTH_PAGE = "health_check"
AdminPage: TypeAlias = (
    "QtUserAdminPage | QtAuditLogPage | QtGalleryAdminPage | QtSystemInfoPage | QtPolicyProfilePage"
    " | QtCompliancePage | QtRandomAuditPage | QtHealthCheckPage"
)


class AdminHost(Protocol):
    """What the pages need from the main window."""

    ws: Workstation
    user: SignedInUser
    tool_actions: dict[str, QAction]
    tools_menu: QMenu

    def add_page(self, key: str, widget: QWidget, *, title: str = "") -> QWidget: ...
    def has_page(self, key: str) -> bool: ...
    def page(self, key: str) -> QWidget: ...
    def show_page(self, key: str) -> None: ...
    def remember_splitter(self, key: str, splitter: QSplitter) -> None: ...


def _opener(
    window: AdminHost,
    key: str,
    title: str,
    build: Callable[[], AdminPage],
) -> Callable[[], None]:
    def open_page() -> None:
        if window.has_page(key):
            page = window.page(key)
            refresh = getattr(page, "refresh", None)
            if callable(refresh):
                refresh()
        else:
            page = build()
            window.add_page(key, page, title=title)
            window.remember_splitter(key, page.splitter)
        window.show_page(key)

    return open_page


def _may_manage_gallery(user: SignedInUser) -> bool:
    """Gallery administration is for those who may seal records (the policy's own rule)."""
    try:
        check_can_seal(user.roles)
    except PermissionDenied:
        return False
    return True


def _users_page(ws: Workstation, user: SignedInUser) -> QtUserAdminPage:
    from app.ui.admin.qt_user_admin_page import QtUserAdminPage

    return QtUserAdminPage(ws, user)


def _audit_page(ws: Workstation, user: SignedInUser) -> QtAuditLogPage:
    from app.ui.admin.qt_audit_log_page import QtAuditLogPage

    return QtAuditLogPage(ws, user)


def _gallery_page(ws: Workstation, user: SignedInUser) -> QtGalleryAdminPage:
    from app.ui.admin.qt_gallery_admin_page import QtGalleryAdminPage

    return QtGalleryAdminPage(ws, user)


def _system_page(ws: Workstation, user: SignedInUser) -> QtSystemInfoPage:
    from app.ui.admin.qt_system_info_page import QtSystemInfoPage

    return QtSystemInfoPage(ws, user)


def _policy_page(ws: Workstation, user: SignedInUser) -> QtPolicyProfilePage:
    from app.ui.admin.qt_policy_profile_page import QtPolicyProfilePage

    return QtPolicyProfilePage(ws, user)


def _compliance_page(ws: Workstation, user: SignedInUser) -> QtCompliancePage:
    from app.ui.admin.qt_compliance_page import QtCompliancePage

    return QtCompliancePage(ws, user)


def _random_audit_page(ws: Workstation, user: SignedInUser) -> QtRandomAuditPage:
    from app.ui.admin.qt_random_audit_page import QtRandomAuditPage

    return QtRandomAuditPage(ws, user)


def _health_page(ws: Workstation, user: SignedInUser) -> QtHealthCheckPage:
    from app.ui.admin.qt_health_check_page import QtHealthCheckPage

    return QtHealthCheckPage(ws, user)


def install_admin_pages(window: AdminHost) -> None:
    """Enable and connect the Tools actions this user's roles allow; hide the others."""
    user = window.user
    for key, text in (
        (SYSTEM_PAGE, "&Models and data..."),
        (POLICY_PAGE, "&Policy profile..."),
        (COMPLIANCE_PAGE, "&Compliance..."),
        (RANDOM_AUDIT_PAGE, "&Random audit..."),
        (HEALTH_PAGE, "&Health check..."),
    ):
        if key not in window.tool_actions:
            owner = window if isinstance(window, QWidget) else None
            new_action = QAction(text, owner)
            new_action.setObjectName(f"tool_{key}")
            window.tool_actions[key] = new_action
            window.tools_menu.addAction(new_action)
    entries = (
        (
            USERS_PAGE,
            "Users, roles and training",
            Role.ADMINISTRATOR in user.roles,
            lambda: _users_page(window.ws, user),
            "Accounts, roles, password resets, unlocks and training records (administrators)",
        ),
        (
            AUDIT_LOG_PAGE,
            "Audit log",
            evaluate_audit_reading(user.roles).allowed,
            lambda: _audit_page(window.ws, user),
            "Read, verify and export the audit log (supervisors, administrators; legal "
            "advisors read only)",
        ),
        (
            GALLERY_PAGE,
            "Gallery administration",
            _may_manage_gallery(user),
            lambda: _gallery_page(window.ws, user),
            "Import photographs, find subjects, seal or unseal, face index status and rebuild "
            "(supervisors, administrators)",
        ),
        (
            SYSTEM_PAGE,
            "Models and data",
            Role.ADMINISTRATOR in user.roles,
            lambda: _system_page(window.ws, user),
            "Installed face models (verify, install), data folder, database and the policy in "
            "force (administrators)",
        ),
        (
            POLICY_PAGE,
            "Policy profile",
            Role.ADMINISTRATOR in user.roles,
            lambda: _policy_page(window.ws, user),
            "The unit's policy profile: see the one in force, select another (administrators)",
        ),
        (
            COMPLIANCE_PAGE,
            "Compliance",
            evaluate_audit_reading(user.roles).allowed,
            lambda: _compliance_page(window.ws, user),
            "Compliance figures and charts of a period, the PDF compliance report and the "
            "yearly transparency figures (supervisors, administrators, legal advisors)",
        ),
        (
            RANDOM_AUDIT_PAGE,
            "Random audit",
            bool(user.roles & {Role.SUPERVISOR, Role.ADMINISTRATOR}),
            lambda: _random_audit_page(window.ws, user),
            "Draw a seeded random sample of requests, walk each one and record audit findings "
            "(supervisors, administrators)",
        ),
        (
            HEALTH_PAGE,
            "Health check",
            bool(user.roles & {Role.SUPERVISOR, Role.ADMINISTRATOR}),
            lambda: _health_page(window.ws, user),
            "Check the database, the audit chain, every evidence file, the search index and the "
            "face models, without changing anything (supervisors, administrators)",
        ),
    )
    gallery_action = window.tool_actions.get(GALLERY_PAGE)
    if gallery_action is not None:
        gallery_action.setText("&Gallery administration...")
    entries_typed: tuple[tuple[str, str, bool, Callable[[], AdminPage], str], ...] = entries
    for key, title, allowed, build, tip in entries_typed:
        action = window.tool_actions.get(key)
        if action is None:
            continue
        action.setVisible(allowed)
        action.setEnabled(allowed)
        if allowed:
            action.setStatusTip(tip)
            action.setToolTip(tip)
            opener = _opener(window, key, title, build)
            action.triggered.connect(lambda _checked=False, open_page=opener: open_page())


__all__ = [
    "AUDIT_LOG_PAGE",
    "COMPLIANCE_PAGE",
    "GALLERY_PAGE",
    "HEALTH_PAGE",
    "POLICY_PAGE",
    "RANDOM_AUDIT_PAGE",
    "SYSTEM_PAGE",
    "USERS_PAGE",
    "install_admin_pages",
]
