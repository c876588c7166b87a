"""The one place that writes an SPL stage: :class:`SplWriter` (``TRANSFORMS`` maps each stage
class to its ``<node>_spl`` method, as sqlglot's generator does), used by translations, rule
pages (``translator/stagetext.py``) and ``check`` alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from backends.spl.spltext import (
    ARG_WORD,
    CORRELATION_ANNOTATIONS,
    OPTION_KEY,
    Warnings,
    eval_target,
    pcre_text,
    quote,
    search_text,
    write_eval,
    write_where,
)
from backends.spl.timerange import with_time_range
from ir.errors import RuleglotError, lossy_warning, unsupported
from ir.nodes import (
    Aggregation,
    Bin,
    Call,
    Command,
    Condition,
    Convert,
    DataModel,
    Dedup,
    Eval,
    Expr,
    FieldValue,
    FillNull,
    Filter,
    ForEach,
    Head,
    Kind,
    Literal,
    Lookup,
    MultiValue,
    Not,
    Predicate,
    Regex,
    Rename,
    Rex,
    Sort,
    Stage,
    Stats,
    Subsearch,
    Table,
    TimeRange,
    stage_command,
)

# --- the writer: one method per stage class -------------------------------------------------

#: Words a command's argument list reads as keywords (``AS``, ``OUTPUT``, ``sortby``,
#: ``+``/``-``): a field so named is quoted, as is a name made of digits only (``dedup
#: 3 f`` reads 3 as a count). A quoted word is never a keyword (``Arg.is_word``).
_ARG_KEYWORDS = {"as", "by", "output", "outputnew", "sortby", "+", "-"}
#: What ends a sort's key list as a direction (``sort a d``): a last key so named is quoted.
_SORT_DIRECTIONS = {"d", "desc"}
#: Options that belong after a ``by`` clause (``tstats ... by _time span=1h``); the reader
#: keeps every option in one list, in the order written.
_BY_OPTIONS = ("span",)


def _arg(name: str) -> str:
    """A field, table or option value as a command argument: bare when it reads back as this
    word, else double-quoted (the reader's ``_dequote`` undoes :func:`quote`)."""
    if ARG_WORD.fullmatch(name) and name.lower() not in _ARG_KEYWORDS and not name.isdigit():
        return name
    return quote(name)


def _option_value(value: str) -> str:
    """An option's value after ``key=``: no keyword can stand there, so only what a bare word
    cannot hold is quoted."""
    return value if ARG_WORD.fullmatch(value) else quote(value)


def options_text(options: Sequence[tuple[str, str]]) -> list[str]:
    """``key=value`` command options, values quoted where they must be."""
    for key, _ in options:
        if not OPTION_KEY.fullmatch(key):
            raise unsupported(
                construct="option", message=f"option name {key!r} cannot be written in SPL"
            )
    return [f"{k}={_option_value(v)}" for k, v in options]


def aggregation_text(agg: Aggregation) -> str:
    """``function(argument) as alias`` as stats writes it."""
    if agg.argument is None:
        text = agg.function
    elif isinstance(agg.argument, str):
        text = f"{agg.function}({_arg(agg.argument)})"
    else:
        text = f"{agg.function}(eval({write_eval(agg.argument)}))"
    return f"{text} as {_arg(agg.alias)}" if agg.alias else text


def _pairs(pairs: Sequence[tuple[str, str]]) -> list[str]:
    """``a`` or ``a AS b`` per (lookup field, event field) pair."""
    return [_arg(a) if a == b else f"{_arg(a)} as {_arg(b)}" for a, b in pairs]


def _is_tstats(stage: Stage, cls: type) -> bool:
    return isinstance(stage, cls) and getattr(stage, "command", "tstats") == "tstats"


class SplWriter:
    """IR stages -> SPL commands: the one place that writes SPL text (sqlglot's generator
    shape: :attr:`TRANSFORMS` maps each stage class to its ``<node>_spl`` method).

    What the reader (:mod:`backends.spl.builder`) builds, this writes back so that it reads
    to an equal IR: arguments quoted where a bare word would not read as the same text
    (:func:`_arg`), strings escaped as the reader unescapes them (:func:`quote`), ``tstats``
    (``DataModel`` [+ ``Filter(command="tstats")``] + ``Stats(command="tstats")``) as one
    command, a ``Command`` from its tokens. What SPL cannot say with the same meaning is a
    positioned ``unsupported`` error; the few approximations go to ``warnings``.
    """

    #: stage class -> the method that writes it (a stage class without one fails
    #: ``tests/test_spl_writer.py``)
    TRANSFORMS: ClassVar[dict[type, Callable[[SplWriter, Any], str]]] = {}

    def __init__(self, warnings: Warnings | None = None) -> None:
        self.warnings: Warnings = warnings if warnings is not None else []

    # --- sequences

    def commands(self, stages: Sequence[Stage]) -> list[str]:
        """Each command's text (without the pipe); a ``tstats`` made of several stages is one
        command. Errors point at the stage."""
        out: list[str] = []
        index = 0
        while index < len(stages):
            taken = self._tstats_run(stages, index)
            if taken:
                run = stages[index : index + taken]
                try:
                    out.append(self.tstats_spl(run))
                except RuleglotError as err:
                    raise err.at(run[0].span) from None
                index += taken
                continue
            out.append(self.stage_spl(stages[index]))
            index += 1
        return out

    @staticmethod
    def _tstats_run(stages: Sequence[Stage], index: int) -> int:
        """How many stages from ``index`` make one ``tstats`` (0: none start there)."""
        end = index
        if isinstance(stages[end], DataModel):
            end += 1
        if end < len(stages) and _is_tstats(stages[end], Filter):
            end += 1
        if end < len(stages) and _is_tstats(stages[end], Stats):
            return end + 1 - index
        return 0

    def pipeline(self, stages: Sequence[Stage], timerange: TimeRange | None = None) -> str:
        """A whole pipeline (a subsearch's): a leading search filter as bare terms, after the
        subsearch's own time range."""
        first = ""
        rest = list(stages)
        if rest and isinstance(rest[0], Filter) and rest[0].command == "search":
            text = search_text(rest[0].expr)
            if text is not None:
                first = text
                rest.pop(0)
        commands = [first, *self.commands(rest)]
        if timerange is not None:
            with_time_range(commands, tuple(stages), timerange)
            first = commands[0]
        return " | ".join(commands).strip() if first else "| " + " | ".join(commands[1:])

    def display(self, stage: Stage) -> str:
        """One stage on its own, for a page that lists stages: as :meth:`stage_spl`, except
        that each part of a ``tstats`` shows as that part (``tstats summariesonly=true from
        datamodel=X``, ``where <terms>``, ``tstats count by f``), not a command that runs."""
        if isinstance(stage, DataModel):
            model = f"from datamodel={_option_value(stage.name)}"
            return " ".join(["tstats", *options_text(stage.options), model])
        return self.stage_spl(stage)

    def stage_spl(self, stage: Stage) -> str:
        """One stage as ``command arguments``, dispatched by class."""
        method = self.TRANSFORMS.get(type(stage))
        try:
            if method is None:
                name = stage_command(stage)
                raise unsupported(
                    construct=name, message=f"the {name} command is not written to SPL"
                )
            return method(self, stage)
        except RuleglotError as err:
            raise err.at(stage.span) from None

    # --- filters

    def filter_spl(self, stage: Filter) -> str:
        if stage.command == "regex":
            text = self._regex_command(stage.expr)
            if text is not None:
                return text
        if stage.command in ("search", "tstats"):
            text = search_text(stage.expr)
            if text is not None:
                return f"{'search' if stage.command == 'search' else 'where'} {text}"
            if stage.command == "tstats":
                raise unsupported(
                    construct="tstats", message="a tstats where clause must be search terms"
                )
        return f"where {write_where(stage.expr, self.warnings)}"

    @staticmethod
    def _regex_command(expr: Expr) -> str | None:
        """``regex [f=|f!=]"pattern"``, as the reader builds it (``_regex_leaf``)."""
        negated = isinstance(expr, Not)
        leaf = expr.arg if isinstance(expr, Not) else expr
        if isinstance(leaf, Predicate) and leaf.kind is Kind.REGEX and leaf.field is not None:
            assert isinstance(leaf.value, Regex)
            name, pattern = leaf.field, pcre_text(leaf.value)
        elif (
            isinstance(leaf, Condition)
            and isinstance(leaf.expr, Call)
            and leaf.expr.name == "match"
            and len(leaf.expr.args) == 2
            and isinstance(leaf.expr.args[0], FieldValue)
            and isinstance(leaf.expr.args[1], Literal)
            and isinstance(leaf.expr.args[1].value, str)
        ):
            name, pattern = leaf.expr.args[0].name, leaf.expr.args[1].value
        else:
            return None
        if not OPTION_KEY.fullmatch(name):
            return None
        if name == "_raw" and not negated:
            return f"regex {quote(pattern)}"
        return f"regex {name}{'!=' if negated else '='}{quote(pattern)}"

    # --- tstats

    def tstats_spl(self, run: Sequence[Stage]) -> str:
        """``tstats <options> <aggregations> [from datamodel=D] [where <terms>] [by F]`` from
        its stages (the agreed shape: ``ir.nodes.DataModel``)."""
        datamodel = run[0] if isinstance(run[0], DataModel) else None
        where = next((s for s in run if isinstance(s, Filter)), None)
        stats = run[-1]
        assert isinstance(stats, Stats)
        words = ["tstats"]
        if datamodel is not None:
            words += options_text(datamodel.options)
        words += self._stats_body(stats, datamodel, where)
        return " ".join(w for w in words if w)

    def datamodel_spl(self, stage: DataModel) -> str:
        raise unsupported(
            construct="tstats",
            message="a data model is written only as the 'from' of a tstats "
            "(followed by its tstats)",
        )

    # --- other stages

    def eval_spl(self, stage: Eval) -> str:
        return "eval " + ", ".join(
            f"{eval_target(n)}={write_eval(e)}" for n, e in stage.assignments
        )

    def rex_spl(self, stage: Rex) -> str:
        words = ["rex"]
        if stage.field != "_raw":
            words.append(f"field={_option_value(stage.field)}")
        if stage.mode is not None:
            words.append(f"mode={_option_value(stage.mode)}")
        if stage.max_match != 1:
            words.append(f"max_match={stage.max_match}")
        return " ".join([*words, quote(stage.pattern)])

    def rename_spl(self, stage: Rename) -> str:
        return "rename " + ", ".join(f"{_arg(a)} as {_arg(b)}" for a, b in stage.pairs)

    def table_spl(self, stage: Table) -> str:
        if stage.command == "fields":
            sign = "- " if stage.remove else ""
            return "fields " + sign + " ".join(_arg(f) for f in stage.fields)
        return "table " + " ".join(_arg(f) for f in stage.fields)

    def stats_spl(self, stage: Stats) -> str:
        if stage.command == "tstats":
            return self.tstats_spl((stage,))
        return " ".join(w for w in [stage.command, *self._stats_body(stage)] if w)

    def _stats_body(
        self, stage: Stats, datamodel: DataModel | None = None, where: Filter | None = None
    ) -> list[str]:
        """Options, aggregations, [from, where,] by and the by clause's options."""
        options = stage.options
        if ("approximation", "bin") in options:  # a Sigma correlation's reading, not options
            timespan = dict(options).get("timespan")
            self.warnings.append(
                lossy_warning(
                    "correlation:timespan",
                    f"Sigma correlation timespan {timespan} is a sliding window; it is written "
                    "as bin buckets (the correlation reader's named approximation)",
                    stage.span,
                )
            )
            options = tuple(o for o in options if o[0] not in CORRELATION_ANNOTATIONS)
        after = [o for o in options if o[0] in _BY_OPTIONS] if stage.by else []
        before = [o for o in options if o not in after]
        words = [*options_text(before), ", ".join(aggregation_text(a) for a in stage.aggregations)]
        if datamodel is not None:
            words.append(f"from datamodel={_option_value(datamodel.name)}")
        if where is not None:
            text = search_text(where.expr)
            if text is None:
                raise unsupported(
                    construct="tstats", message="a tstats where clause must be search terms"
                ).at(where.span)
            words.append(f"where {text}")
        if stage.by:
            words.append("by " + ", ".join(_arg(f) for f in stage.by))
        return [*words, *options_text(after)]

    def bin_spl(self, stage: Bin) -> str:
        words = ["bin", _arg(stage.field)]
        if stage.span_text is not None:
            words.append(f"span={_option_value(stage.span_text)}")
        if stage.bins is not None:
            words.append(f"bins={stage.bins}")
        if stage.alias:
            words.append(f"as {_arg(stage.alias)}")
        return " ".join(words)

    def dedup_spl(self, stage: Dedup) -> str:
        words = ["dedup"] + ([str(stage.count)] if stage.count != 1 else [])
        words += [_arg(f) for f in stage.fields]
        sortby = [v for k, v in stage.options if k == "sortby"]
        words += options_text([o for o in stage.options if o[0] != "sortby"])
        # the reader keeps sortby's arguments as their text, joined by spaces
        return " ".join(words + [f"sortby {v}" for v in sortby[-1:]])

    def sort_spl(self, stage: Sort) -> str:
        words = ["sort"] + ([str(stage.limit)] if stage.limit is not None else [])
        for name, desc in stage.keys:
            text = quote(name) if name.lower() in _SORT_DIRECTIONS else _arg(name)
            words.append(("-" if desc else "+") + text)
        return " ".join(words)

    def head_spl(self, stage: Head) -> str:
        return f"{stage.command} {stage.count}"

    def lookup_spl(self, stage: Lookup) -> str:
        words = [stage.command, *options_text(stage.options), _arg(stage.table)]
        if stage.command == "inputlookup":
            if stage.inputs or stage.outputs:
                raise unsupported(
                    construct="inputlookup", message="inputlookup takes no field lists"
                )
            return " ".join(words)
        words += _pairs(stage.inputs)
        if stage.outputs or stage.mode.upper() != "OUTPUT":  # `OUTPUTNEW` alone is read too
            words += [stage.mode.upper(), *_pairs(stage.outputs)]
        return " ".join(words)

    def fillnull_spl(self, stage: FillNull) -> str:
        return " ".join(["fillnull", f"value={quote(stage.value)}", *map(_arg, stage.fields)])

    def convert_spl(self, stage: Convert) -> str:
        items = [
            f"{fn}({_arg(f)})" + (f" as {_arg(alias)}" if alias else "")
            for fn, f, alias in stage.conversions
        ]
        return " ".join(["convert", *options_text(stage.options), *items])

    def multivalue_spl(self, stage: MultiValue) -> str:
        return " ".join([stage.command, *options_text(stage.options), _arg(stage.field)])

    def subsearch_spl(self, stage: Subsearch) -> str:
        words = [stage.command, *options_text(stage.options), *map(_arg, stage.fields)]
        if stage.command == "appendpipe":
            return " ".join([*words, f"[{' | '.join(self.commands(stage.stages))}]"])
        return " ".join([*words, f"[{self.pipeline(stage.stages, stage.timerange)}]"])

    def foreach_spl(self, stage: ForEach) -> str:
        words = ["foreach", *options_text(stage.options), *map(_arg, stage.fields)]
        return " ".join([*words, f"[{' | '.join(self.commands(stage.stages))}]"])

    def command_spl(self, stage: Command) -> str:
        return f"{stage.name} {stage.args}".strip()


SplWriter.TRANSFORMS.update(
    {
        Filter: SplWriter.filter_spl,
        Eval: SplWriter.eval_spl,
        Rex: SplWriter.rex_spl,
        Rename: SplWriter.rename_spl,
        Table: SplWriter.table_spl,
        Stats: SplWriter.stats_spl,
        DataModel: SplWriter.datamodel_spl,
        Bin: SplWriter.bin_spl,
        Dedup: SplWriter.dedup_spl,
        Sort: SplWriter.sort_spl,
        Head: SplWriter.head_spl,
        Lookup: SplWriter.lookup_spl,
        FillNull: SplWriter.fillnull_spl,
        Convert: SplWriter.convert_spl,
        MultiValue: SplWriter.multivalue_spl,
        Subsearch: SplWriter.subsearch_spl,
        ForEach: SplWriter.foreach_spl,
        Command: SplWriter.command_spl,
    }
)
