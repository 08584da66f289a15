"""The geometry of objective vectors (bottom layer; numpy and pymoo only): dominance and
non-dominated fronts, normalisation, hypervolume, the additive epsilon indicator, and the
knee-like pick of a front."""
