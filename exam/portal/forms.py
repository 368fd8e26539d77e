"""The portal's forms: log-in with one plain error, and the jobs table's filter."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from exam.pipeline.models import JobState
from exam.portal.selectors import JobFilter


class LoginForm(AuthenticationForm):
    """Django's log-in form with a message that never says which of the two was wrong."""

    def get_invalid_login_error(self) -> ValidationError:
        """The one message for a wrong username, a wrong password, or both."""
        return ValidationError("The username or password is not right.", code="invalid_login")


class JobFilterForm(forms.Form):
    """Filter the jobs table by status and by part of the patient ID."""

    status = forms.ChoiceField(
        label="Status", choices=[("", "All"), *JobState.choices], required=False
    )
    patient_id = forms.CharField(label="Patient ID", max_length=64, required=False)

    def wanted(self) -> JobFilter:
        """The filter asked for; no filter when the form is invalid."""
        if not self.is_valid():
            return JobFilter()
        return JobFilter(self.cleaned_data["status"], self.cleaned_data["patient_id"])


class AuditSearchForm(forms.Form):
    """Search the audit log: part of a user name or action, or an exact id or address."""

    q = forms.CharField(label="Search the audit log", max_length=128, required=False)

    def query(self) -> str:
        """The text searched for; none when the form is invalid."""
        return str(self.cleaned_data["q"]) if self.is_valid() else ""
