"""The demo's GPD verdict line is computed from the numbers."""
from gandistill.demo.gpd_stage import verdict


def test_verdict_follows_the_numbers():
    assert "beats" in verdict((0.5, 0.08), (0.4, 0.09)) and "SSIM and L1" in verdict((0.5, 0.08), (0.4, 0.09))
    assert verdict((0.3, 0.10), (0.4, 0.09)).startswith("Anchor KD does not beat")
    assert verdict((0.4, 0.09), (0.4, 0.09)).startswith("Anchor KD does not beat")  # ties are not wins
    assert verdict((0.5, 0.10), (0.4, 0.09)).endswith("on SSIM but not on L1.")
    assert verdict((0.3, 0.08), (0.4, 0.09)).endswith("on L1 but not on SSIM.")
