"""The administrator's choice of policy profile (issue 9): stored, audited, followed by every
workstation, and every examiner must acknowledge the new version before searching again."""

from __future__ import annotations

import dataclasses
import io
import sys
from pathlib import Path

import pytest
from case_support import (
    PASSWORD,
    acknowledge,
    count_rows,
    enrol_yale_gallery,
    events,
    intake,
    make_people,
    yale_photo,
)

from app import cli
from app.casework import probes, requests, search
from app.casework.accounts import SignedInUser, examiner_facts
from app.casework.policy_choice import (
    available_profiles,
    current_profile,
    profile_selection,
    select_policy_profile,
)
from app.casework.workstation import Workstation
from app.errors import InvalidInput, NotFound, PermissionDenied
from app.policy.gates import evaluate_can_search
from app.policy.profiles import load_profile
from app.records.case_models import CaseSearch


def _open_with_probe(ws: Workstation, user: SignedInUser, yale_dir: Path) -> int:
    request = requests.open_request(ws, user=user, intake=intake())
    probes.add_probe(
        ws,
        user=user,
        request_id=request.request_id,
        image_bytes=yale_photo(yale_dir, "03", "sad"),
        original_name="probe.gif",
    )
    return request.request_id


def test_available_profiles_list_the_built_in_ones_and_mark_the_one_in_force(
    ws: Workstation,
) -> None:
    choices = {c.key: c for c in available_profiles(ws)}
    assert {"mptc-2019", "nypd-2020"} <= set(choices)
    assert choices["mptc-2019"].active and not choices["nypd-2020"].active
    assert "Municipal Police Training Council" in choices["mptc-2019"].description
    assert current_profile(ws).key == "mptc-2019"


def test_administrator_selects_a_profile_audited_and_switched_in_place(ws: Workstation) -> None:
    people = make_people(ws)
    old, old_worksheet = ws.profile, ws.worksheet
    chosen = select_policy_profile(
        ws, by=people.admin, name="nypd-2020", reason="The department adopted its own policy."
    )
    assert chosen.active and chosen.name == ws.profile.name == "nypd-2020"
    assert ws.worksheet is not old_worksheet  # reloaded for the new profile
    assert current_profile(ws).key == "nypd-2020"
    (event,) = events(ws, "policy.profile_changed")
    details = event.details_dict
    assert event.actor == "admin"
    assert (details["old_name"], details["old_version"], details["old_sha256"]) == (
        old.name,
        old.version,
        old.sha256,
    )
    assert (details["new_name"], details["new_version"], details["new_sha256"]) == (
        ws.profile.name,
        ws.profile.version,
        ws.profile.sha256,
    )
    assert details["reason"] == "The department adopted its own policy."
    with pytest.raises(InvalidInput, match="already the policy profile in force"):
        select_policy_profile(ws, by=people.admin, name="nypd-2020", reason="Once more please.")
    with pytest.raises(NotFound, match="no policy profile 'nope'"):
        select_policy_profile(ws, by=people.admin, name="nope", reason="A typing error here.")
    with pytest.raises(InvalidInput, match="reason"):
        select_policy_profile(ws, by=people.admin, name="mptc-2019", reason=" ")


def test_only_an_administrator_selects_and_a_refusal_is_audited(ws: Workstation) -> None:
    people = make_people(ws)
    with pytest.raises(PermissionDenied, match="Only an active administrator"):
        select_policy_profile(
            ws, by=people.supervisor, name="nypd-2020", reason="I would like the NYPD rules."
        )
    (denied,) = events(ws, "permission.denied")
    assert denied.actor == "sam"
    assert denied.details_dict["attempted"] == "choose the policy profile"
    assert ws.profile.name == "mptc-2019"
    assert events(ws, "policy.profile_changed") == []


def test_other_workstations_follow_the_choice_at_open_and_at_search(
    ws: Workstation, yale_dir: Path
) -> None:
    people = make_people(ws)
    request_id = _open_with_probe(ws, people.examiner, yale_dir)
    other = Workstation.open(ws.settings)  # a second workstation of the unit, already open
    try:
        select_policy_profile(
            ws, by=people.admin, name="nypd-2020", reason="The department adopted its own policy."
        )
        assert other.profile.name == "mptc-2019"
        with Workstation.open(ws.settings) as reopened:
            assert reopened.profile.name == "nypd-2020"
        with pytest.raises(PermissionDenied, match="has not acknowledged the policy in force"):
            search.run_search(other, user=people.examiner, request_id=request_id)
        assert other.profile.name == "nypd-2020"
    finally:
        other.close()


def test_every_examiner_acknowledges_the_new_version_before_the_next_search(
    ws: Workstation, yale_dir: Path, tmp_path: Path
) -> None:
    # The unit starts on its own copy of the MPTC policy (from the settings), which everyone
    # acknowledged; the administrator then selects the built-in MPTC profile.
    agency_copy = tmp_path / "agency-policy.toml"
    agency_copy.write_bytes(load_profile("mptc-2019").path.read_bytes() + b"\n# agency copy\n")
    ws.settings = dataclasses.replace(ws.settings, policy_profile=str(agency_copy))
    ws.use_profile(load_profile(str(agency_copy)))
    people = make_people(ws)
    enrol_yale_gallery(ws, people.admin, yale_dir)
    request_id = _open_with_probe(ws, people.examiner, yale_dir)
    assert any(c.key == str(agency_copy) and c.active for c in available_profiles(ws))

    select_policy_profile(
        ws, by=people.admin, name="mptc-2019", reason="Back to the state's model policy."
    )
    for user in (people.examiner, people.reviewer):
        with pytest.raises(PermissionDenied, match="changed since the examiner acknowledged"):
            search.run_search(ws, user=user, request_id=request_id)
    assert count_rows(ws, CaseSearch) == 0
    assert len(events(ws, "search.refused")) == 2

    acknowledge(ws, people.examiner)
    assert search.run_search(ws, user=people.examiner, request_id=request_id).candidates
    reviewer_facts = examiner_facts(ws, user_id=people.reviewer.user_id)
    refused = evaluate_can_search(reviewer_facts, ws.profile, ws.now().date())
    assert not refused.allowed and "acknowledged" in " ".join(refused.reasons)
    acknowledge(ws, people.reviewer)
    reviewer_facts = examiner_facts(ws, user_id=people.reviewer.user_id)
    assert evaluate_can_search(reviewer_facts, ws.profile, ws.now().date()).allowed


def test_cli_lists_and_selects(
    ws: Workstation, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_people(ws)
    ws.close()

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("policy", "list")
    assert code == 0
    assert "* mptc-2019" in out and "  nypd-2020" in out
    assert "From the policy_profile setting" in out
    code, _, err = run(
        "policy", "select", "nypd-2020", "--reason", "Adopted.", "--as", "sam", stdin=PASSWORD
    )
    assert code == 2 and "Only an active administrator" in err
    code, out, err = run(
        "policy",
        "select",
        "nypd-2020",
        "--reason",
        "The department adopted its own policy.",
        "--as",
        "admin",
        stdin=f"{PASSWORD}\n",
    )
    assert code == 0, err
    assert "must acknowledge the new version" in out
    code, out, _ = run("policy", "list")
    assert "* nypd-2020" in out and "  mptc-2019" in out
    assert "Selected by admin" in out


def test_selection_is_shown_and_an_unloadable_choice_keeps_the_setting(
    ws: Workstation, tmp_path: Path
) -> None:
    people = make_people(ws)
    assert profile_selection(ws).key is None
    assert "From the policy_profile setting" in profile_selection(ws).text
    agency_copy = tmp_path / "agency-policy.toml"
    agency_copy.write_bytes(load_profile("nypd-2020").path.read_bytes() + b"\n# agency copy\n")
    ws.settings = dataclasses.replace(ws.settings, policy_profile=str(agency_copy))
    select_policy_profile(
        ws, by=people.admin, name=str(agency_copy), reason="The agency's own copy of the policy."
    )
    selection = profile_selection(ws)
    assert selection.key == str(agency_copy) and selection.changed_by == "admin"
    assert selection.problem is None and "Selected by admin" in selection.text
    assert ws.profile.path == agency_copy.resolve()

    agency_copy.unlink()  # the chosen file is gone: the setting's profile (mptc) stays in force
    settings = dataclasses.replace(ws.settings, policy_profile="mptc-2019")
    with Workstation.open(settings) as reopened:
        assert reopened.profile.name == "mptc-2019"
        problem = profile_selection(reopened).problem
        assert problem is not None and "cannot be loaded" in problem
        assert {c.key for c in available_profiles(reopened)} == {"mptc-2019", "nypd-2020"}
