"""Policy profiles: the agency's rules as data, read from a TOML file and validated.

A profile is one of the built-in files under ``resources/policies`` (``mptc-2019``, ``nypd-2020``)
or a path to the agency's own copy in the same format. The SHA-256 of the file's bytes identifies
the exact rules in force: it is recorded with every request and acknowledgment and printed on
every report. Every rule in the file carries the clause it implements.

Validation is strict because a profile is policy: anything missing, repeated, unknown or a
free-text catch-all is refused with a message naming the file and the field.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from app.errors import ConfigurationError, PolicyViolation
from app.policy.worksheet import WORKSHEETS_DIR, load_worksheet, resolve_worksheet_path
from app.settings import RESOURCES_DIR

POLICIES_DIR: Final = RESOURCES_DIR / "policies"
# Every probe edit the engine knows; a profile allows a subset. "mirror" is known so an agency
# can allow it explicitly, but the built-in profiles refuse it (it swaps the subject's sides).
KNOWN_EDITS: Final = frozenset(
    {
        "crop",
        "rotate",
        "brightness",
        "contrast",
        "gamma",
        "sharpen",
        "denoise",
        "grayscale",
        "mirror",
    }
)
# Kinds of record with a retention period (VI.A). The audit log is never purged.
RECORD_TYPES: Final = (
    "request",
    "probe",
    "search",
    "comparison",
    "report",
    "dissemination",
    "disclosure",
    "audit",
)
# Probe kinds every profile must refuse (IV.D): they do not show the actual subject.
REQUIRED_REFUSED_PROBE_KINDS: Final = ("composite_sketch", "artist_rendering", "look_alike")
ATTESTATION_CODES: Final = ("lawful_source", "not_protected_basis", "actual_subject")
REPORT_TEXT_CODES: Final = (
    "banner",
    "advisory",
    "interagency_acknowledgment",
    "dissemination_restriction",
)
# A catch-all lets any purpose through; MPTC IV.B and V.A enumerate them instead.
FREE_TEXT_WORDS: Final = frozenset(
    {
        "other",
        "others",
        "misc",
        "miscellaneous",
        "any",
        "free_text",
        "free text",
        "unspecified",
        "any other purpose",
        "other purpose",
        "other (specify)",
        "specify",
    }
)
_SECTIONS: Final = frozenset(
    {
        "profile",
        "search",
        "acknowledgment",
        "training",
        "second_review",
        "purposes",
        "gallery_sources",
        "probe_sources",
        "refused_probe_kinds",
        "attestations",
        "report",
        "edits",
        "retention",
        "recipient_types",
    }
)

SecondReviewMode = Literal["required", "when_practicable"]


@dataclass(frozen=True)
class Purpose:
    """One authorized purpose: its code, full wording and clause."""

    code: str
    text: str
    clause: str

    @property
    def label(self) -> str:
        return f"{self.code}: {self.text}"


@dataclass(frozen=True)
class SourceType:
    """An allowed gallery or probe source, or a refused probe kind."""

    code: str
    label: str
    clause: str
    description: str = ""


@dataclass(frozen=True)
class Attestation:
    code: str
    text: str
    clause: str


@dataclass(frozen=True)
class Attestations:
    """What the examiner attests on every request (IV.D, V.B)."""

    lawful_source: Attestation
    not_protected_basis: Attestation
    actual_subject: Attestation
    protected_characteristics: tuple[str, ...]
    protected_activities: tuple[str, ...]

    @property
    def all(self) -> tuple[Attestation, ...]:
        return (self.lawful_source, self.not_protected_basis, self.actual_subject)


@dataclass(frozen=True)
class ReportTexts:
    """Texts printed on result screens and report pages; ``clauses`` maps each field name."""

    banner: str
    advisory: str
    interagency_acknowledgment: str
    dissemination_restriction: str
    clauses: Mapping[str, str]


@dataclass(frozen=True)
class RetentionRule:
    record_type: str
    days: int | None  # None: never purged
    clause: str

    @property
    def never_purged(self) -> bool:
        return self.days is None


@dataclass(frozen=True)
class RecipientType:
    code: str
    label: str
    law_enforcement: bool
    clause: str


@dataclass(frozen=True)
class Rule:
    """A rule that is one piece of text with its clause (acknowledgment, legal hold)."""

    text: str
    clause: str


@dataclass(frozen=True)
class PolicyProfile:
    """One agency policy, validated; ``sha256`` identifies the exact file."""

    name: str
    title: str
    issuer: str
    version: str
    source: str
    sha256: str
    path: Path
    worksheet: str  # built-in worksheet name or absolute path; give it to load_worksheet
    search_top_k: int
    search_clause: str
    acknowledgment: Rule
    training_courses: tuple[str, ...]  # empty: any course counts
    training_clause: str
    second_review: SecondReviewMode
    second_review_clause: str
    purposes: tuple[Purpose, ...]
    gallery_sources: tuple[SourceType, ...]
    probe_sources: tuple[SourceType, ...]
    refused_probe_kinds: tuple[SourceType, ...]
    attestations: Attestations
    report: ReportTexts
    allowed_edits: frozenset[str]
    edits_clause: str
    retention: Mapping[str, RetentionRule]
    legal_hold: Rule
    recipient_types: tuple[RecipientType, ...]

    @property
    def label(self) -> str:
        return f"{self.title} ({self.version})"

    @property
    def second_review_required(self) -> bool:
        return self.second_review == "required"

    def purpose(self, code: str) -> Purpose:
        """The purpose with this code, or PolicyViolation naming the profile."""
        for purpose in self.purposes:
            if purpose.code == code:
                return purpose
        raise PolicyViolation(
            f"Purpose '{code}' is not one of the purposes authorized by {self.title}."
        )

    def gallery_source(self, code: str) -> SourceType | None:
        return next((c for c in self.gallery_sources if c.code == code), None)

    def probe_source(self, code: str) -> SourceType | None:
        return next((c for c in self.probe_sources if c.code == code), None)

    def refused_probe_kind(self, code: str) -> SourceType | None:
        return next((c for c in self.refused_probe_kinds if c.code == code), None)

    def recipient_type(self, code: str) -> RecipientType | None:
        return next((r for r in self.recipient_types if r.code == code), None)

    def retention_days(self, record_type: str) -> int | None:
        """Days a record of this type is kept at least; None when it is never purged."""
        rule = self.retention.get(record_type)
        if rule is None:
            known = ", ".join(self.retention)
            raise PolicyViolation(
                f"{self.title} has no retention rule for '{record_type}' records (known: {known})."
            )
        return rule.days


def list_builtin_profiles() -> list[str]:
    return sorted(p.stem for p in POLICIES_DIR.glob("*.toml"))


def resolve_profile_path(name_or_path: str) -> Path:
    """A built-in profile name, or a path to a profile file."""
    if name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path:
        return Path(name_or_path).expanduser()
    return POLICIES_DIR / f"{name_or_path}.toml"


def load_profile(name_or_path: str) -> PolicyProfile:
    """Load and validate a built-in profile by name, or an agency's own file by path."""
    path = resolve_profile_path(name_or_path.strip())
    if not path.is_file():
        known = ", ".join(list_builtin_profiles())
        raise ConfigurationError(
            f"Policy profile '{name_or_path}' was not found. Built-in profiles: {known}; "
            "or give the path to your agency's own profile file."
        )
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"Policy profile {path} cannot be read: {exc}") from exc
    return _ProfileParser(path, data).build(hashlib.sha256(raw).hexdigest())


def _is_free_text(value: str) -> bool:
    words = value.strip().strip(".:").lower().replace("-", " ")
    return words in FREE_TEXT_WORDS or words.startswith(("other:", "other (", "any other"))


class _ProfileParser:
    """Reads one profile document, naming the file and field in every complaint."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    def fail(self, field: str, problem: str) -> ConfigurationError:
        return ConfigurationError(f"Policy profile {self.path.name}: '{field}' {problem}.")

    def text(self, table: Mapping[str, Any], key: str, field: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "is missing or empty")
        return value.strip()

    def table(self, value: object, field: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, "is missing (a [section] is required)")
        return value

    def section(self, key: str) -> Mapping[str, Any]:
        return self.table(self.data.get(key), key)

    def strings(self, table: Mapping[str, Any], key: str, field: str) -> tuple[str, ...]:
        value = table.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(field, "must be a list of texts")
        return tuple(v.strip() for v in value)

    def rule(self, key: str) -> Rule:
        table = self.section(key)
        return Rule(
            self.text(table, "text", f"{key}.text"), self.text(table, "clause", f"{key}.clause")
        )

    def entries(
        self, key: str, text_key: str, *, enumerated: bool = True
    ) -> list[tuple[str, Mapping[str, Any], str, str]]:
        """(field, table, code, clause) of a non-empty [[key]] list with unique codes.

        ``enumerated``: the list is a closed set of allowed choices, so an "other" entry (a
        free-text catch-all) is refused.
        """
        value = self.data.get(key)
        if not isinstance(value, list) or not value:
            raise self.fail(key, "must list at least one entry")
        seen: set[str] = set()
        result = []
        for number, raw in enumerate(value, start=1):
            field = f"{key}[{number}]"
            entry = self.table(raw, field)
            code = self.text(entry, "code", f"{field}.code")
            if code in seen:
                raise self.fail(f"{field}.code", f"repeats the code '{code}'")
            seen.add(code)
            wording = self.text(entry, text_key, f"{field}.{text_key}")
            if enumerated and (_is_free_text(code) or _is_free_text(wording)):
                raise self.fail(
                    field, "is a free-text catch-all ('other'); the policy enumerates every choice"
                )
            result.append((field, entry, code, self.text(entry, "clause", f"{field}.clause")))
        return result

    def purposes(self) -> tuple[Purpose, ...]:
        return tuple(
            Purpose(code, self.text(entry, "text", f"{field}.text"), clause)
            for field, entry, code, clause in self.entries("purposes", "text")
        )

    def sources(self, key: str, *, enumerated: bool = True) -> tuple[SourceType, ...]:
        return tuple(
            SourceType(
                code,
                self.text(entry, "label", f"{field}.label"),
                clause,
                str(entry.get("description", "")).strip(),
            )
            for field, entry, code, clause in self.entries(key, "label", enumerated=enumerated)
        )

    def build(self, sha256: str) -> PolicyProfile:
        unknown = sorted(set(self.data) - _SECTIONS)
        if unknown:
            raise self.fail(
                unknown[0], f"is not a known section (known: {', '.join(sorted(_SECTIONS))})"
            )
        head = self.section("profile")
        search = self.section("search")
        top_k = search.get("top_k")
        if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= 500:
            raise self.fail("search.top_k", "must be a whole number from 1 to 500")
        training = self.section("training")
        review = self.section("second_review")
        mode = review.get("mode")
        if mode not in ("required", "when_practicable"):
            raise self.fail("second_review.mode", "must be 'required' or 'when_practicable'")
        refused = self.sources("refused_probe_kinds", enumerated=False)
        missing_refused = [
            k for k in REQUIRED_REFUSED_PROBE_KINDS if k not in {r.code for r in refused}
        ]
        if missing_refused:
            raise self.fail(
                "refused_probe_kinds",
                f"must refuse {missing_refused} (they do not show the subject)",
            )
        edits = self.section("edits")
        allowed = self.strings(edits, "allowed", "edits.allowed")
        unknown_edits = sorted(set(allowed) - KNOWN_EDITS)
        if unknown_edits:
            raise self.fail(
                "edits.allowed",
                f"names unknown edit operations {unknown_edits} "
                f"(known: {', '.join(sorted(KNOWN_EDITS))})",
            )
        return PolicyProfile(
            name=self.text(head, "name", "profile.name"),
            title=self.text(head, "title", "profile.title"),
            issuer=self.text(head, "issuer", "profile.issuer"),
            version=self.text(head, "version", "profile.version"),
            source=self.text(head, "source", "profile.source"),
            sha256=sha256,
            path=self.path.resolve(),
            worksheet=self.worksheet(head),
            search_top_k=top_k,
            search_clause=self.text(search, "clause", "search.clause"),
            acknowledgment=self.rule("acknowledgment"),
            training_courses=self.strings(training, "courses", "training.courses"),
            training_clause=self.text(training, "clause", "training.clause"),
            second_review=mode,
            second_review_clause=self.text(review, "clause", "second_review.clause"),
            purposes=self.purposes(),
            gallery_sources=self.sources("gallery_sources"),
            probe_sources=self.sources("probe_sources"),
            refused_probe_kinds=refused,
            attestations=self.attestations(),
            report=self.report(),
            allowed_edits=frozenset(allowed),
            edits_clause=self.text(edits, "clause", "edits.clause"),
            retention=self.retention(),
            legal_hold=Rule(
                self.text(self.section("retention"), "legal_hold", "retention.legal_hold"),
                self.text(self.section("retention"), "clause", "retention.clause"),
            ),
            recipient_types=self.recipients(),
        )

    def worksheet(self, head: Mapping[str, Any]) -> str:
        name = self.text(head, "worksheet", "profile.worksheet")
        path = resolve_worksheet_path(name, relative_to=self.path.parent)
        if not path.is_file():
            raise self.fail("profile.worksheet", f"names an unknown worksheet '{name}'")
        try:
            load_worksheet(str(path))
        except ConfigurationError as exc:
            raise self.fail(
                "profile.worksheet", f"names a worksheet that is not valid: {exc}"
            ) from exc
        # A built-in name stays a name (stable in records); an agency's file: an absolute path.
        return str(path.resolve()) if path.parent != WORKSHEETS_DIR else name

    def attestations(self) -> Attestations:
        table = self.section("attestations")
        unknown = sorted(set(table) - set(ATTESTATION_CODES))
        if unknown:
            raise self.fail(
                f"attestations.{unknown[0]}", f"is not one of {list(ATTESTATION_CODES)}"
            )
        items = {}
        for code in ATTESTATION_CODES:
            entry = self.table(table.get(code), f"attestations.{code}")
            items[code] = Attestation(
                code,
                self.text(entry, "text", f"attestations.{code}.text"),
                self.text(entry, "clause", f"attestations.{code}.clause"),
            )
        protected = self.table(table["not_protected_basis"], "attestations.not_protected_basis")
        return Attestations(
            lawful_source=items["lawful_source"],
            not_protected_basis=items["not_protected_basis"],
            actual_subject=items["actual_subject"],
            protected_characteristics=self.strings(
                protected,
                "protected_characteristics",
                "attestations.not_protected_basis.protected_characteristics",
            ),
            protected_activities=self.strings(
                protected,
                "protected_activities",
                "attestations.not_protected_basis.protected_activities",
            ),
        )

    def report(self) -> ReportTexts:
        table = self.section("report")
        texts: dict[str, str] = {}
        clauses: dict[str, str] = {}
        for code in REPORT_TEXT_CODES:
            entry = self.table(table.get(code), f"report.{code}")
            texts[code] = self.text(entry, "text", f"report.{code}.text")
            clauses[code] = self.text(entry, "clause", f"report.{code}.clause")
        banner = texts["banner"].lower()
        if "investigative lead" not in banner or "probable cause" not in banner:
            raise self.fail(
                "report.banner.text",
                "must say the result is an investigative lead only, not probable cause (MPTC II)",
            )
        return ReportTexts(clauses=clauses, **texts)

    def retention(self) -> dict[str, RetentionRule]:
        table = self.section("retention")
        clause = self.text(table, "clause", "retention.clause")
        days = self.table(table.get("days"), "retention.days")
        unknown = sorted(set(days) - set(RECORD_TYPES))
        if unknown:
            raise self.fail(
                f"retention.days.{unknown[0]}", f"is not a record type ({', '.join(RECORD_TYPES)})"
            )
        result: dict[str, RetentionRule] = {}
        for record_type in RECORD_TYPES:
            value = days.get(record_type)
            field = f"retention.days.{record_type}"
            if value == "never":
                result[record_type] = RetentionRule(record_type, None, clause)
            elif isinstance(value, int) and not isinstance(value, bool) and value > 0:
                result[record_type] = RetentionRule(record_type, value, clause)
            else:
                raise self.fail(field, 'must be a number of days (at least 1) or "never"')
        if result["audit"].days is not None:
            raise self.fail(
                "retention.days.audit", 'must be "never": the audit log is never purged'
            )
        return result

    def recipients(self) -> tuple[RecipientType, ...]:
        result = []
        for field, entry, code, clause in self.entries(
            "recipient_types", "label", enumerated=False
        ):
            flag = entry.get("law_enforcement")
            if not isinstance(flag, bool):
                raise self.fail(f"{field}.law_enforcement", "must be true or false")
            result.append(
                RecipientType(code, self.text(entry, "label", f"{field}.label"), flag, clause)
            )
        if not any(r.law_enforcement for r in result):
            raise self.fail("recipient_types", "must include a law enforcement recipient type")
        return tuple(result)
