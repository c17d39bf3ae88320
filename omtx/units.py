"""Interpretation-ready affinity values, from the models' documented definitions
(research/MODELS.md A.6: Boltz-2 `affinity_pred_value` is log10(IC50 / µM))."""

from __future__ import annotations

# RT·ln(10) at 298.15 K in kcal/mol; Boltz-2's docs round it to 1.364.
KCAL_PER_LOG_UNIT = 1.364


def pic50_from_log10_ic50_um(y: float) -> float:
    """pIC50 = −log10(IC50 / M) = 6 − log10(IC50 / µM)."""
    return 6.0 - y


def delta_g_kcal_from_log10_ic50_um(y: float) -> float:
    """Binding free energy, ΔG ≈ −RT·ln(10)·pIC50 (kcal/mol; negative is favourable), treating
    IC50 as a dissociation constant, as Boltz-2's documentation does."""
    return -KCAL_PER_LOG_UNIT * pic50_from_log10_ic50_um(y)


def ic50_nm_from_log10_ic50_um(y: float) -> float:
    return 10 ** (y + 3)
