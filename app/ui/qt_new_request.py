"""QtNewRequestDialog: every intake field of a request, with Create disabled until it is complete.

The purposes are the active profile's, each shown with its full wording (no free-text purpose);
the attestations are explicit checkboxes carrying the profile's own text; a request from another
agency names it and may record the written "lead only" acknowledgment at once (or later, before
any release). While anything is missing, the policy's reasons
(:func:`app.policy.gates.evaluate_request_intake`) are listed above the buttons and Create stays
disabled. Casework checks everything again when the request is created.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.policy.gates import Decision, evaluate_request_intake
from app.policy.profiles import Attestation, PolicyProfile
from app.ui import messages
from app.ui.case_views import PHOTOGRAPH_KIND, IntakeForm
from app.ui.workers import run_in_background

RequestCreator = Callable[[IntakeForm], int]
"""Creates the request through casework (runs on a worker); returns the new request's id."""

REASONS_STYLE = "color: #a40000;"


class QtCheckLabel(QLabel):
    """A wrapped label that toggles its checkbox when clicked (the checkbox text cannot wrap)."""

    def __init__(self, text: str, box: QCheckBox) -> None:
        super().__init__(text)
        self._box = box
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setBuddy(box)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._box.isEnabled():
            self._box.toggle()
            self._box.setFocus(Qt.FocusReason.MouseFocusReason)
        super().mousePressEvent(event)


class QtNewRequestDialog(QDialog):
    """Take in a request; ``request_id`` is set once casework has created it."""

    created = Signal(int)

    def __init__(
        self,
        profile: PolicyProfile,
        *,
        creator: RequestCreator,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.profile = profile
        self._creator = creator
        self.request_id: int | None = None
        self._busy = False
        self.setWindowTitle("New facial recognition request")
        self.setObjectName("newRequestDialog")
        self.resize(860, 820)

        # -- the case ----------------------------------------------------------------------
        self.case_number_edit = self._line("caseNumber", "The agency's case or incident number.")
        self.officer_edit = self._line("requestingOfficer", "Name and rank of the officer asking.")
        self.agency_edit = self._line("requestingAgency", "The officer's agency or unit.")
        self.offense_edit = self._line("offense", "The offense or incident being investigated.")
        self.narrative_edit = QPlainTextEdit()
        self.narrative_edit.setObjectName("narrative")
        self.narrative_edit.setTabChangesFocus(True)
        self.narrative_edit.setPlaceholderText(
            "What happened, and why a facial recognition search is needed."
        )
        self.narrative_edit.setFixedHeight(80)
        case_box = QGroupBox("The case")
        case_form = QFormLayout(case_box)
        case_form.addRow("Case &number:", self.case_number_edit)
        case_form.addRow("Requesting &officer:", self.officer_edit)
        case_form.addRow("Requesting &agency:", self.agency_edit)
        case_form.addRow("O&ffense:", self.offense_edit)
        case_form.addRow("Na&rrative:", self.narrative_edit)

        # -- purpose -------------------------------------------------------------------------
        self.purpose_list = QListWidget()
        self.purpose_list.setObjectName("purposeList")
        self.purpose_list.setWordWrap(True)
        self.purpose_list.setAccessibleName("Authorized purpose")
        for purpose in profile.purposes:
            item = QListWidgetItem(f"{purpose.code}  {purpose.text}")
            item.setData(Qt.ItemDataRole.UserRole, purpose.code)
            item.setToolTip(f"{purpose.clause}: {purpose.text}")
            self.purpose_list.addItem(item)
        self.purpose_list.setSpacing(2)
        self.purpose_list.setMinimumHeight(190)
        purpose_box = QGroupBox(f"Authorized purpose ({profile.title})")
        purpose_layout = QVBoxLayout(purpose_box)
        hint = QLabel("Choose the one purpose this search serves. There is no other purpose.")
        hint.setWordWrap(True)
        purpose_layout.addWidget(hint)
        purpose_layout.addWidget(self.purpose_list)

        # -- the probe image -------------------------------------------------------------------
        self.source_combo = QComboBox()
        self.source_combo.setObjectName("probeSource")
        self.source_combo.addItem("Choose where the image came from...", "")
        for source in profile.probe_sources:
            self.source_combo.addItem(source.label, source.code)
            self.source_combo.setItemData(
                self.source_combo.count() - 1,
                source.description or source.clause,
                Qt.ItemDataRole.ToolTipRole,
            )
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("probeKind")
        self.kind_combo.addItem(PHOTOGRAPH_KIND[1], PHOTOGRAPH_KIND[0])
        for refused in profile.refused_probe_kinds:
            self.kind_combo.addItem(f"{refused.label} (cannot be searched)", refused.code)
        self.kind_combo.setToolTip(
            "Composite sketches, artist renderings and look-alike substitutes do not show the "
            "person sought and are refused as probes."
        )
        self.obtained_edit = QPlainTextEdit()
        self.obtained_edit.setObjectName("obtainedHow")
        self.obtained_edit.setTabChangesFocus(True)
        self.obtained_edit.setPlaceholderText(
            "How and where the image was obtained (e.g. store camera, copied by Det. Ruiz)."
        )
        self.obtained_edit.setFixedHeight(56)
        probe_box = QGroupBox("The probe image")
        probe_form = QFormLayout(probe_box)
        probe_form.addRow("&Source:", self.source_combo)
        probe_form.addRow("&What it is:", self.kind_combo)
        probe_form.addRow("&How and where obtained:", self.obtained_edit)

        # -- another agency --------------------------------------------------------------------
        self.interagency_check = QCheckBox("This request was submitted by &another agency")
        self.interagency_check.setObjectName("interagency")
        self.submitting_edit = self._line("submittingAgency", "The agency that submitted it.")
        self.ack_edit = self._line(
            "acknowledgedBy",
            "Official of the submitting agency who acknowledged in writing that a result is "
            "only a lead. Leave empty to record it later; results cannot be released before.",
        )
        ack_text = QLabel(profile.report.interagency_acknowledgment)
        ack_text.setWordWrap(True)
        ack_text.setTextFormat(Qt.TextFormat.PlainText)
        ack_text.setStyleSheet("color: palette(mid);")
        self.interagency_box = QWidget()
        inter_form = QFormLayout(self.interagency_box)
        inter_form.setContentsMargins(20, 0, 0, 0)
        inter_form.addRow("Submitting a&gency:", self.submitting_edit)
        inter_form.addRow("Ac&knowledged by:", self.ack_edit)
        inter_form.addRow("", ack_text)
        self.interagency_box.setEnabled(False)
        clause = profile.report.clauses.get("interagency_acknowledgment", "MPTC IV.F")
        other_box = QGroupBox(f"Another agency ({clause})")
        other_layout = QVBoxLayout(other_box)
        other_layout.addWidget(self.interagency_check)
        other_layout.addWidget(self.interagency_box)

        # -- attestations ----------------------------------------------------------------------
        attest_box = QGroupBox("Attestations")
        attest_layout = QVBoxLayout(attest_box)
        self.attestation_checks: dict[str, QCheckBox] = {}
        for attestation in profile.attestations.all:
            attest_layout.addLayout(self._attestation_row(attestation))

        # -- reasons and buttons ------------------------------------------------------------------
        self.reasons_label = QLabel()
        self.reasons_label.setObjectName("intakeReasons")
        self.reasons_label.setWordWrap(True)
        self.reasons_label.setTextFormat(Qt.TextFormat.PlainText)
        self.reasons_label.setStyleSheet(REASONS_STYLE)
        self.buttons = QDialogButtonBox()
        self.create_button = self.buttons.addButton(
            "&Create request", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.create_button.setObjectName("createRequest")
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.create_request)
        self.buttons.rejected.connect(self.reject)

        inner = QWidget()
        inner_layout = QVBoxLayout(inner)
        for box in (case_box, purpose_box, probe_box, other_box, attest_box):
            inner_layout.addWidget(box)
        inner_layout.addStretch(1)
        self.form_scroll = QScrollArea()
        self.form_scroll.setWidgetResizable(True)
        self.form_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.form_scroll.setWidget(inner)
        self.reasons_scroll = QScrollArea()
        self.reasons_scroll.setWidgetResizable(True)
        self.reasons_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.reasons_scroll.setWidget(self.reasons_label)
        self.reasons_scroll.setMaximumHeight(96)
        self.reasons_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form_scroll, 1)
        layout.addWidget(self.reasons_scroll)
        layout.addWidget(self.buttons)

        for edit in (self.case_number_edit, self.officer_edit, self.agency_edit,
                     self.offense_edit, self.submitting_edit, self.ack_edit):
            edit.textChanged.connect(self.update_decision)
        for text_edit in (self.narrative_edit, self.obtained_edit):
            text_edit.textChanged.connect(self.update_decision)
        self.purpose_list.currentRowChanged.connect(lambda _row: self.update_decision())
        self.source_combo.currentIndexChanged.connect(lambda _i: self.update_decision())
        self.kind_combo.currentIndexChanged.connect(lambda _i: self.update_decision())
        self.interagency_check.toggled.connect(self._interagency_toggled)
        self.update_decision()
        self.case_number_edit.setFocus()

    # ------------------------------------------------------------------------------ building
    def _line(self, name: str, tooltip: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setToolTip(tooltip)
        return edit

    def _attestation_row(self, attestation: Attestation) -> QHBoxLayout:
        box = QCheckBox()
        box.setObjectName(f"attest_{attestation.code}")
        box.setAccessibleName(attestation.text)
        box.setToolTip(attestation.clause)
        box.toggled.connect(lambda _on: self.update_decision())
        self.attestation_checks[attestation.code] = box
        label = QtCheckLabel(f"{attestation.text} ({attestation.clause})", box)
        row = QHBoxLayout()
        row.addWidget(box, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(label, 1)
        return row

    def _interagency_toggled(self, on: bool) -> None:
        self.interagency_box.setEnabled(on)
        self.update_decision()

    # ------------------------------------------------------------------------------ state
    def form(self) -> IntakeForm:
        item = self.purpose_list.currentItem()
        checks = self.attestation_checks
        return IntakeForm(
            case_number=self.case_number_edit.text(),
            requesting_officer=self.officer_edit.text(),
            requesting_agency=self.agency_edit.text(),
            purpose_code=str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else "",
            offense=self.offense_edit.text(),
            narrative=self.narrative_edit.toPlainText(),
            probe_source=str(self.source_combo.currentData() or ""),
            probe_obtained_how=self.obtained_edit.toPlainText(),
            probe_kind=str(self.kind_combo.currentData() or PHOTOGRAPH_KIND[0]),
            attests_lawful_source=checks["lawful_source"].isChecked(),
            attests_not_protected_basis=checks["not_protected_basis"].isChecked(),
            attests_actual_subject=checks["actual_subject"].isChecked(),
            interagency=self.interagency_check.isChecked(),
            submitting_agency=self.submitting_edit.text(),
            acknowledged_by=self.ack_edit.text().strip() if self.interagency_check.isChecked()
            else "",
        )

    def decision(self) -> Decision:
        return evaluate_request_intake(self.form().to_intake(), self.profile)

    def update_decision(self) -> Decision:
        decision = self.decision()
        self.create_button.setEnabled(decision.allowed and not self._busy)
        self.reasons_scroll.setMaximumHeight(30 if decision.allowed else 96)
        if decision.allowed:
            self.reasons_label.setText("The request is complete.")
            self.reasons_label.setStyleSheet("color: #1b5e20;")
            self.create_button.setToolTip("Create the request and open its case page.")
        else:
            count = len(decision.reasons)
            text = f"Create stays disabled: {count} thing{'s' if count != 1 else ''} to do.\n"
            text += "\n".join(
                f"- {reason}" for reason in decision.reasons
            )
            self.reasons_label.setText(text)
            self.reasons_label.setStyleSheet(REASONS_STYLE)
            self.create_button.setToolTip(" ".join(decision.reasons))
        return decision

    def reasons(self) -> tuple[str, ...]:
        return self.decision().reasons

    # ------------------------------------------------------------------------------ create
    def create_request(self) -> None:
        if self._busy or not self.update_decision().allowed:
            return
        form = self.form()
        self._busy = True
        self.create_button.setEnabled(False)
        self.create_button.setText("Creating...")
        creator = self._creator
        run_in_background(
            lambda progress, cancelled: creator(form),
            on_done=self._created,
            on_error=self._failed,
            parent=self,
            description="creating the request",
            serial=True,
        )

    def _created(self, request_id: int) -> None:
        self._busy = False
        self.request_id = int(request_id)
        self.created.emit(self.request_id)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        self.create_button.setText("&Create request")
        self.update_decision()
        messages.show_error(self, exc, title="The request was not created", log_it=False)


__all__ = ["QtCheckLabel", "QtNewRequestDialog", "RequestCreator"]
