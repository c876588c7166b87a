"""The one hook through which the Sigma writer's parts report a construct they cannot write.

The writer is one class (:class:`backends.sigma.emit._Emitter`) built from parts with one job
each (:class:`backends.sigma.emit_logsource.LogSourceWriter`,
:class:`backends.sigma.emit_stages.StageWriter`, :class:`backends.sigma.emit_fields.FieldWriter`);
every part reports through ``problem``, which the writer defines once (strict: raise; lossy:
record the warning). This base says its signature once, for every part and for mypy.
"""

from __future__ import annotations

from ir.errors import Span
from ir.nodes import Stage


class ProblemReporter:
    """A part of the Sigma writer: reports what it cannot write through :meth:`problem`."""

    def problem(
        self,
        construct: str,
        message: str,
        span: Span | None,
        *,
        stage: Stage | None = None,
        reason: str | None = None,
    ) -> None:
        """Report ``construct`` at ``span`` (``stage``: the stage dropped; ``reason``: a key of
        :data:`backends.sigma.lossy_effects.REASONS`); the writer overrides this."""
        raise NotImplementedError
