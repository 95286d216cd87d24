"""Low-rank matrix posteriors p(X) ∝ exp(-beta ||A(X X^T) - b||^2) (Moitra & Risteski 2020)."""
from .problems import Completion, Factorization, MatrixProblem, Sensing
from .synthetic import Truth, synthetic_problem
from .langevin import MatrixLangevin
from .invariants import summarize

__all__ = ["MatrixLangevin", "summarize", "MatrixProblem", "Factorization", "Sensing", "Completion", "synthetic_problem", "Truth"]
