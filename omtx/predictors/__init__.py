"""Prediction models. Each module holds one model; `registry` maps names to them."""
