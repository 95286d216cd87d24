"""Low-rank matrix posteriors p(X) ∝ exp(-beta ||A(X X^T) - b||^2) (Moitra & Risteski 2020)."""
from .problems import Completion, Factorization, MatrixProblem, Sensing
from .synthetic import Truth, synthetic_problem

__all__ = ["MatrixProblem", "Factorization", "Sensing", "Completion", "synthetic_problem", "Truth"]
