"""How the Sigma writer finds a rule's log source: for :mod:`backends.sigma.emit`, whose
``_Emitter`` this mixin is part of (split from it by job; the module docstring of
:mod:`backends.sigma.emit` says what each reading means, "Field names" and "Search settings").

* Splunk search settings (``ir.nodes.SEARCH_SETTINGS``: ``sourcetype``, ``source``...) on the
  top level become the log source through :mod:`backends.sigma.splunk_sources`, or a warning
  naming them.
* Windows ``source``/``Channel`` predicates (through the field profile's ``prefix``
  extraction) become product ``windows`` and the service whose channels they are
  (pySigma's ``windows_logsource_mapping``, inverted).
* The Sysmon channel ORed with Sysmon for Linux's ``source`` becomes a rule collection: the
  Windows rule and a Linux one (:meth:`LogSourceWriter.linux_sysmon_docs`).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from sigma.pipelines.common import windows_logsource_mapping

from backends.sigma.emit_problems import ProblemReporter
from backends.sigma.splunk_sources import (
    LINUX_SYSMON_CATEGORIES,
    LINUX_SYSMON_EVENTS,
    is_linux_sysmon,
    setting_channel,
    sigma_source,
    vendor_product,
)
from ir.fieldprofiles import FieldProfile
from ir.nodes import (
    SEARCH_SETTINGS,
    TIME_MODIFIERS,
    Expr,
    Kind,
    Or,
    Predicate,
    Rule,
    all_of,
    any_of,
    conjuncts,
)

__all__ = ["WINDOWS_SOURCE_PREFIXES", "LogSourceWriter", "as_list", "channel_of_predicate"]

#: The ``source`` prefixes of Splunk's two Windows event log renderings.
WINDOWS_SOURCE_PREFIXES = ("XmlWinEventLog:", "WinEventLog:")


class LogSourceWriter(ProblemReporter):
    """The log-source part of the Sigma writer (a mixin of ``backends.sigma.emit._Emitter``,
    which sets these attributes and reports through ``problem``)."""

    rule: Rule
    profile: FieldProfile | None
    source_prefix: str | None
    windows: bool
    service: str | None
    product: str | None
    unmapped: list[str]
    #: ``source=Syslog:Linux-Sysmon/Operational`` disjuncts beside the Windows Sysmon channel,
    #: written as a Linux rule of the collection (:meth:`linux_sysmon_docs`) or reported
    linux_sysmon: list[Predicate]

    # --- log source from Splunk's search settings (ir.nodes.SEARCH_SETTINGS)

    def is_setting(self, p: Predicate) -> bool:
        return self.rule.language == "spl" and (
            p.field in SEARCH_SETTINGS or p.field in TIME_MODIFIERS
        )

    def search_settings(self, expr: Expr) -> Expr | None:
        """``expr`` without its top-level conjuncts on search settings, which become the log
        source (:mod:`backends.sigma.splunk_sources`) or a warning naming them: a Sigma rule
        holding ``index: main`` as a detection field matches nothing outside Splunk."""
        out: list[Expr] = []
        for part in conjuncts(expr):
            disjuncts = part.args if isinstance(part, Or) else (part,)
            if all(isinstance(d, Predicate) and self.is_setting(d) for d in disjuncts):
                self.setting_disjuncts([d for d in disjuncts if isinstance(d, Predicate)])
            else:
                out.append(part)
        return all_of(out) if out else None

    def setting_disjuncts(self, preds: list[Predicate]) -> None:
        """One top-level conjunct (an OR of settings) as the log source, or warnings."""
        products: set[str] = set()
        services: set[str | None] = set()
        for p in preds:
            field, text = str(p.field), p.value_text()
            if field in TIME_MODIFIERS:
                self.problem(field, f"'{field}={text}' is the search's time range; a Sigma "
                             "rule has none (its schedule decides): dropped", p.span)  # fmt: skip
                continue
            if field not in ("sourcetype", "source") or p.kind is not Kind.EQ:
                if p.kind is Kind.EQ and field in ("index", "eventtype"):
                    self.unmapped.append(f"{field}={text}")
                self.problem(field, f"'{field}' {p.kind} {text!r} chooses which Splunk events "
                             "are read; Sigma has no field for it: dropped, the log source "
                             "says which events", p.span)  # fmt: skip
                continue
            if text.lower().startswith(("xmlwineventlog", "wineventlog")):
                self.windows = True
                products.add("windows")
                continue
            found = sigma_source(field, text)
            if found is not None:
                products.add(found.product)
                services.add(found.service)
                if found.wider:
                    self.problem(field, f"'{field}={text}' is Sigma's product "
                                 f"{found.product!r} ({found.cite}); no one service: the Sigma "
                                 "log source reads more events", p.span)  # fmt: skip
                continue
            vendor = vendor_product(text) if field == "sourcetype" else None
            if vendor is not None:
                products.add(vendor)
                services.add(None)
            else:
                self.unmapped.append(f"{field}={text}")
            self.problem(field, f"'{field}={text}' has no Sigma log source in "
                         "backends/sigma/splunk_sources.py"
                         + (f": written as product {vendor!r}, the vendor in Splunk's source "
                            "type naming convention, which Sigma backends may not map"
                            if vendor else ": dropped"), p.span)  # fmt: skip
        if len(products) > 1:
            self.problem("logsource", f"the search reads several data sources "
                         f"({', '.join(sorted(products))}), a Sigma rule one: written as the "
                         "first", preds[0].span)  # fmt: skip
        if products and self.product is None and "windows" not in products:
            self.product = sorted(products)[0]
            if len(services) == 1 and None not in services:
                self.service = self.service or next(iter(services))

    # --- log source from source/Channel predicates (field profile)

    def extract_logsource(self, expr: Expr) -> Expr | None:
        parts = list(conjuncts(expr))
        prefixed = any(
            x.transform == "prefix" and x.argument in WINDOWS_SOURCE_PREFIXES
            for x in self.profile.extractions  # type: ignore[union-attr]
        )
        if not prefixed:
            return expr
        out: list[Expr] = []
        done = False
        for part in parts:
            if self.constant_true(part):
                self.windows = True
                continue
            if not done:
                replaced = self.channel_selector(part)
                if replaced is not False:
                    done = True
                    if isinstance(replaced, (Predicate, Or)):
                        out.append(replaced)
                    continue
            out.append(part)
        return all_of(out) if out else None

    def constant_true(self, part: Expr) -> bool:
        """``sourcetype=XmlWinEventLog`` (a constant extraction, on the top level)."""
        if not (isinstance(part, Predicate) and part.kind is Kind.EQ and part.field):
            return False
        assert self.profile is not None
        for x in self.profile.extractions:
            if x.target == part.field and x.transform == "constant":
                value = part.value
                return isinstance(value, str) and value.lower() == x.argument.lower()
        return False

    def channel_of(self, p: Predicate, covered: frozenset[str] = frozenset()) -> str | None:
        """The channel ``p`` selects (:func:`channel_of_predicate`). A ``source`` in the other
        rendering than the profile's (``WinEventLog:X`` under ``XmlWinEventLog:``) selects
        none of the profile's events, while Sigma's channel means either rendering: reported
        (construct ``source``), and written as the channel when lossy; unless the same OR
        also selects the channel in the profile's rendering (``covered``, lower-cased): then
        the OR is both renderings of the channel, which is what Sigma's channel means
        (security_content's ``powershell`` macro is such an OR).

        A setting naming one channel (``eventtype=wineventlog_security``, the legacy Sysmon
        source type: :data:`backends.sigma.splunk_sources.CHANNEL_SETTINGS`) is that channel
        only when the same OR also selects it by ``source``/``Channel`` (``covered``): as the
        add-on defines it, the OR is then every rendering of the channel, Sigma's service;
        alone, it is a setting the evaluator reads as a field no event of the profile has
        (``ruleglot check`` would find the Sigma service wider), so it stays a warning."""
        channel = channel_of_predicate(p)
        if channel is not None and channel.lower() in covered:
            return channel
        if p.field in ("eventtype", "sourcetype"):
            return None
        prefix = self.source_prefix
        other_rendering = prefix is not None and not p.value_text().lower().startswith(
            prefix.lower()
        )
        if channel is not None and p.field == "source" and other_rendering:
            assert self.profile is not None
            self.problem(
                "source",
                f"'source={p.value_text()}' is not the rendering field profile "
                f"{self.profile.name!r} reads ({prefix}{channel}): the search selects none "
                f"of its events; written as channel {channel!r} (either rendering)",
                p.span,
            )
        return channel

    def channel_selector(self, part: Expr) -> Expr | None | bool:
        """A conjunct choosing channels, as the remaining detection part (``None``: nothing),
        or ``False`` when ``part`` is not one."""
        disjuncts = part.args if isinstance(part, Or) else (part,)
        channels: list[str] = []
        others: list[Predicate] = []
        for d in disjuncts:
            if not isinstance(d, Predicate) or d.field not in (
                "source", "sourcetype", "Channel", "eventtype"
            ):  # fmt: skip
                return False
        prefix = (self.source_prefix or "").lower()
        covered = frozenset(
            str(channel_of_predicate(d)).lower()
            for d in disjuncts
            if isinstance(d, Predicate) and channel_of_predicate(d) is not None
            and d.field in ("source", "Channel")
            and (d.field != "source" or d.value_text().lower().startswith(prefix))
        )  # fmt: skip
        for d in disjuncts:
            assert isinstance(d, Predicate)
            channel = self.channel_of(d, covered)
            if channel is None:
                others.append(d)
            else:
                channels.append(channel)
        if not channels:
            return False
        sysmon_only = {c.lower() for c in channels} == {SYSMON_CHANNEL.lower()}
        for d in others:
            if sysmon_only and is_linux_sysmon(str(d.field), d.value_text()) and d.kind is Kind.EQ:
                self.linux_sysmon.append(d)  # the collection's Linux rule, or reported later
                continue
            self.dropped_disjunct(d)
        self.windows = True
        wanted = {c.lower() for c in channels}
        services = [
            s for s, chans in windows_logsource_mapping.items()
            if wanted <= {c.lower() for c in as_list(chans)}
        ]  # fmt: skip
        unique = list(dict.fromkeys(channels))
        keep = any_of([Predicate("Channel", Kind.EQ, c) for c in unique])
        if len(services) >= 1:
            # the service with the fewest channels; prefer one that equals the set exactly
            service = min(services, key=lambda s: len(as_list(windows_logsource_mapping[s])))
            self.service = service
            if {c.lower() for c in as_list(windows_logsource_mapping[service])} == wanted:
                return None
        return keep

    # --- Windows and Linux Sysmon: a rule collection

    def linux_sysmon_docs(
        self, doc: dict[str, Any], detection: Expr | None
    ) -> list[dict[str, Any]]:
        """The Linux rule of a search over Windows and Linux Sysmon (security_content's
        ``sysmon`` macro: the Sysmon channel OR ``source=Syslog:Linux-Sysmon/Operational``):
        the union of two Sigma log sources is a rule collection, one rule per log source with
        the same detection. The Linux rule is ``product: linux`` with the category of the
        detection's one top-level ``EventID`` (:data:`LINUX_SYSMON_CATEGORIES`) and, when the
        Windows rule has an id, its own (uuid5 of it) and ``related`` to it; the detection
        keeps the EventID, so it selects Sysmon's events of the category only.

        When every EventID the detection requires is one Sysmon for Linux never writes
        (:data:`LINUX_SYSMON_EVENTS`: image loads, registry, DNS...), the Linux part selects
        no event: dropped, exact, no rule. Otherwise ``[]`` when the Windows rule is not
        Sysmon's or the EventIDs name no one category: the Linux disjunct is then reported as
        dropped (:meth:`report_linux_sysmon`)."""
        if not self.linux_sysmon or detection is None:
            return []
        logsource = doc.get("logsource", {})
        if (logsource.get("product"), logsource.get("service")) != ("windows", "sysmon"):
            return []
        ids = _required_event_ids(detection)
        if ids and not ids & LINUX_SYSMON_EVENTS:
            self.linux_sysmon = []  # no Linux Sysmon event has these EventIDs
            return []
        written = ids & LINUX_SYSMON_EVENTS  # the others select no Linux event
        category = LINUX_SYSMON_CATEGORIES.get(next(iter(written))) if len(written) == 1 else None
        if category is None:
            return []
        self.linux_sysmon = []
        linux: dict[str, Any] = {}
        for key, value in doc.items():
            if key == "id":
                linux["id"] = str(uuid.uuid5(uuid.UUID(doc["id"]), "linux"))
                linux["related"] = [{"id": doc["id"], "type": "similar"}]
            elif key == "logsource":
                linux["logsource"] = {"product": "linux", "category": category}
                if "definition" in logsource:
                    linux["logsource"]["definition"] = logsource["definition"]
            else:
                linux[key] = copy.deepcopy(value)
        return [linux]

    def report_linux_sysmon(self) -> None:
        """The Linux Sysmon disjuncts no Linux rule was written for: dropped, reported."""
        for d in self.linux_sysmon:
            self.dropped_disjunct(d)
        self.linux_sysmon = []

    def dropped_disjunct(self, d: Predicate) -> None:
        """Report a disjunct of the channel selector that no Windows log source names (one
        wording, whether it is dropped at once or when no Linux rule was written for it)."""
        self.problem(
            "logsource",
            f"'{d.field}={d.value_text()}' selects events no Windows log source names; "
            "dropped (the Sigma log source selects fewer events)",
            d.span,
        )


#: The Windows Sysmon channel, as pySigma names it (one place: its Windows service table).
SYSMON_CHANNEL = str(windows_logsource_mapping["sysmon"])


def _required_event_ids(detection: Expr) -> set[int]:
    """The EventIDs one top-level conjunct of ``detection`` allows (``EventID=7``, or an OR of
    such), or the empty set when none says."""
    for part in conjuncts(detection):
        disjuncts = part.args if isinstance(part, Or) else (part,)
        ids: set[int] = set()
        for d in disjuncts:
            if not (isinstance(d, Predicate) and d.field == "EventID" and d.kind is Kind.EQ):
                break
            try:
                ids.add(int(str(d.value)))
            except ValueError:
                break
        else:
            if ids:
                return ids
    return set()


def as_list(value: Any) -> list[str]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def channel_of_predicate(p: Predicate) -> str | None:
    """The channel an ``eq`` predicate on ``source``/``Channel`` names, or a setting that
    selects one channel (:data:`backends.sigma.splunk_sources.CHANNEL_SETTINGS`:
    ``eventtype=wineventlog_security``), else ``None``."""
    if p.kind is not Kind.EQ or not isinstance(p.value, str) or p.cased:
        return None
    if p.field == "Channel":
        return p.value
    if p.field in ("eventtype", "sourcetype"):
        return setting_channel(str(p.field), p.value)
    if p.field == "source":
        for prefix in WINDOWS_SOURCE_PREFIXES:
            if p.value.lower().startswith(prefix.lower()) and len(p.value) > len(prefix):
                return p.value[len(prefix) :]
    return None
