"""Compiled transition kernels: small pure functions over one chain's arrays."""
