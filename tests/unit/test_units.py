import pytest

from omtx.units import delta_g_kcal_from_log10_ic50_um, ic50_nm_from_log10_ic50_um, pic50_from_log10_ic50_um


@pytest.mark.parametrize(("y", "pic50", "nm"), [(-3.0, 9.0, 1.0), (0.0, 6.0, 1000.0), (2.0, 4.0, 100_000.0)])
def test_documented_anchor_points(y, pic50, nm):
    # Boltz-2 docs: -3 means 1 nM, 0 means 1 µM, 2 means 100 µM
    assert pic50_from_log10_ic50_um(y) == pic50
    assert ic50_nm_from_log10_ic50_um(y) == pytest.approx(nm)


def test_delta_g_is_negative_for_binders_and_scales_with_pic50():
    assert delta_g_kcal_from_log10_ic50_um(-3.0) == pytest.approx(-12.276)
    assert delta_g_kcal_from_log10_ic50_um(0.0) == pytest.approx(-8.184)
