r"""What translating a rule gave, as values: :class:`TranslationResult` and its :class:`Issue`\ s.

One place for the shape of a translation's report entry: ``ruleglot translate --report`` writes
``TranslationResult.to_dict()`` and the library (:mod:`translator.library`) returns the same
objects, so a script and the command line report the same facts. Kept apart from the library
so that the ``translate`` command does not load the equivalence harness.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ir.errors import RuleglotError
from translator import api

__all__ = ["Issue", "TranslationResult"]


@dataclass(frozen=True)
class Issue:
    """One error or lossy warning: what (``construct``), why (``message``) and where.

    ``category`` is an error's (:data:`ir.errors.CATEGORIES`: ``syntax``, ``invalid``,
    ``unsupported``, ``io``, ``events``) and ``None`` for a lossy warning. ``line``/``col`` are
    1-based, ``None`` where no position is known. ``effect`` is what a warning of a writer that
    says so costs (the Sigma writer: :mod:`backends.sigma.lossy_effects`): ``shaping`` (only
    the output's columns, rows or order; the same events alert) or ``meaning`` (which events
    alert may change), with ``why``; ``None`` when the writer does not say.
    """

    message: str
    construct: str | None = None
    category: str | None = None
    path: str | None = None
    line: int | None = None
    col: int | None = None
    effect: str | None = None
    why: str | None = None

    @classmethod
    def from_error(cls, err: RuleglotError) -> Issue:
        return cls(err.message, err.construct, err.category, err.path, err.line, err.col)

    @classmethod
    def from_warning(cls, warning: dict[str, Any]) -> Issue:
        """A lossy warning as emitters give it (:func:`ir.errors.lossy_warning`)."""
        return cls(
            str(warning.get("message", "")),
            warning.get("construct"),
            None,
            warning.get("path"),
            warning.get("line"),
            warning.get("col"),
            warning.get("effect"),
            warning.get("why"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The report's shape: an error's ``RuleglotError.to_dict()``, a warning's
        ``lossy_warning`` (no ``category``)."""
        out: dict[str, Any] = {"path": self.path, "line": self.line, "col": self.col}
        if self.category is not None:
            out["category"] = self.category
        out["construct"] = self.construct
        out["message"] = self.message
        if self.effect is not None:
            out["effect"] = self.effect
            out["why"] = self.why
        return out

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.path or "<input>", self.line, self.col) if p)
        return f"{where}: {self.category or 'lossy'}: {self.construct or '-'}: {self.message}"



@dataclass
class TranslationResult:
    """One rule translated: ``text`` (``None`` when it failed), ``status`` (``ok``, ``lossy``:
    translated with ``warnings`` naming what was dropped, ``error``: see ``errors``), and the
    search macros an SPL translation calls that the user must define (unmapped log sources)."""

    path: str | None
    rule_id: str | None
    title: str | None
    status: Literal["ok", "lossy", "error"]
    text: str | None = None
    warnings: list[Issue] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    macros: list[str] = field(default_factory=list)
    #: the ids of the rules written when the translation holds several (a Sigma collection)
    rule_ids: list[str] = field(default_factory=list)

    @classmethod
    def of(
        cls, entry: dict[str, Any], done: api.Translation | RuleglotError
    ) -> TranslationResult:
        """From a translation or its error; ``entry`` holds ``path``, ``rule_id``, ``title``."""
        if isinstance(done, RuleglotError):
            return cls(**entry, status="error", errors=[Issue.from_error(done)])
        warnings = [Issue.from_warning(w) for w in done.warnings]
        status: Literal["ok", "lossy"] = "lossy" if warnings else "ok"
        return cls(**entry, status=status, text=done.text, warnings=warnings,
                   macros=list(done.macros), rule_ids=list(done.rule_ids))

    @property
    def effect(self) -> str | None:
        """A lossy translation's cost: ``shaping`` when every warning says it only shapes the
        output (the same events alert), ``meaning`` when one may change which events alert or
        does not say; ``None`` for ``ok`` and ``error``."""
        if self.status != "lossy":
            return None
        if all(w.effect == "shaping" for w in self.warnings):
            return "shaping"
        return "meaning"

    def to_dict(self) -> dict[str, Any]:
        """The entry ``ruleglot translate --report`` writes for this rule."""
        out: dict[str, Any] = {
            "path": self.path,
            "rule_id": self.rule_id,
            "title": self.title,
            "status": self.status,
        }
        if self.status == "error":
            out["errors"] = [e.to_dict() for e in self.errors]
            return out
        if self.status == "lossy":
            out["effect"] = self.effect
        out["constructs"] = [w.to_dict() for w in self.warnings]
        if self.macros:
            out["macros"] = list(self.macros)
        if self.rule_ids:
            out["rule_ids"] = list(self.rule_ids)  # every rule written: a collection's too
        return out
