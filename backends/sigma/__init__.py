"""Sigma backend: :func:`read_sigma` turns Sigma YAML into ruleglot IR rules."""

from backends.sigma.reader import read_sigma

__all__ = ["read_sigma"]
